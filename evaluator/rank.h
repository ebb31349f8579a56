/* Ranking the models of a suite by quality, cost and speed, over each
 * model's latest complete run of the suite (the web leaderboard and the CI
 * gate use the same call).
 *
 * Dimensions: quality = the suite's primary metric (higher is better; its
 * 95% bootstrap interval decides near-ties), cost = USD per 1,000 cases
 * (lower is better), speed = p50 latency in ms (lower is better).
 *
 * Policies:
 *   weighted:quality=0.5,cost=0.3,speed=0.2 (the default weights)
 *     each dimension is min-max normalized over the ranked models to
 *     [0, 1] with 1 the best (all equal: 1 for everyone), score = the sum
 *     of weight x normalized value; higher ranks first.
 *   priority:cost,quality,speed[,tolerance=0.02]
 *     (a ';' is accepted wherever a ',' separates the items)
 *     lexicographic: the first criterion decides unless the two values are
 *     within the tolerance band (relative difference <= 2% of the larger
 *     magnitude) — and for quality also when each mean lies inside the
 *     other's bootstrap interval — then the next criterion decides.
 *   pareto
 *     the non-dominated set (no other model at least as good on all three
 *     and better on one) ranks first, then the next front, ...; within a
 *     front by quality.
 * Constraints (--require) exclude models before ranking:
 *   "quality>=0.8,p95_ms<=2000" with keys quality, cost (per 1k), p50_ms,
 *   p95_ms, p99_ms, tokens_per_s, or any metric name; operators >=, <=,
 *   >, <.
 *
 * Output: {"suite", "policy", "primary_metric", "models": [{rank, model,
 * run_id, quality, quality_ci_low, quality_ci_high, cost_per_1k, p50_ms,
 * p95_ms, tokens_per_s, score?, front?, why}], "excluded": [{model,
 * run_id, why}]}. */
#ifndef AS_EVAL_RANK_H
#define AS_EVAL_RANK_H

#include <jansson.h>

#include "store/store.h"

/* Rank the models of 'suite' into *out. 'policy' NULL means the weighted
 * defaults (callers pass the suite's "ranking" policy when it has one);
 * 'require' may be NULL. AS_EINVAL for a bad policy or constraint,
 * AS_ENOTFOUND when the suite has no complete run. */
int eval_rank(json_t **out, store *db, const char *suite, const char *policy,
              const char *require);

/* Rank already-made summaries (eval_run_summary objects, borrowed): the
 * same computation without the database, for tests and the gate. */
int eval_rank_summaries(json_t **out, const json_t *summaries, const char *suite,
                        const char *policy, const char *require);

#endif
