/* Run summaries, cached (internal to web/). eval_run_summary recomputes
 * every metric's bootstrap interval over all of a run's items (about half
 * a second for 10,000 items), too slow for pages that show many runs. The
 * cache keeps a summary with the run's state when it was made (status,
 * finish time, busy time, and while running the item and judgment counts,
 * read with one cheap query) and makes it again only when that changed. At most
 * WEB_SUMMARY_CACHE summaries are kept (least recently used go first), so
 * memory stays bounded. */
#ifndef AS_WEB_SUMMARIES_H
#define AS_WEB_SUMMARIES_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define WEB_SUMMARY_CACHE 512

typedef struct web_summaries web_summaries;

int web_summaries_new(web_summaries **out);
void web_summaries_free(web_summaries *c);

/* The summary of run 'id' into *out (a new object the caller owns and may
 * change); AS_ENOTFOUND for an unknown run. */
int web_summary(json_t **out, web_summaries *c, store *db, int64_t id);

/* The page of runs matching the filters (NULL: any), newest first, as
 * summaries: a new array. */
int web_summaries_list(json_t **out, web_summaries *c, store *db, const char *suite,
                       const char *model, const char *status, int64_t offset, int64_t limit);

/* The summaries of the newest complete run of each model of 'suite' (what
 * a leaderboard ranks): a new array; AS_ENOTFOUND when there is none. */
int web_summaries_latest(json_t **out, web_summaries *c, store *db, const char *suite);

/* The "ranking" policy of suite 'suite' at 'commit' into *policy (caller
 * frees; NULL when the suite names none), read from the catalog once and
 * then remembered: a suite at a commit never changes. */
int web_suite_policy(char **policy, web_summaries *c, const char *data_dir, const char *suite,
                     const char *commit);

#endif
