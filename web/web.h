/* The web server: a civetweb HTTP server with a fixed worker pool serving
 * the JSON API under /api/v1/ and the dashboard embedded into the binary,
 * plus the users, roles and tokens that guard it. This module is the only
 * includer of civetweb.h. */
#ifndef AS_WEB_H
#define AS_WEB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct web_config {
    const char *bind;       /* address to listen on; "127.0.0.1" when NULL */
    int port;               /* 0 picks a free port (see web_server_port) */
    const char *data_dir;   /* holds assay.db and catalog/ */
    int threads;            /* worker threads; 0 means 16 */
    size_t max_body;        /* request body cap in bytes; 0 means 1 MiB */
} web_config;

typedef struct web_server web_server;

/* Start listening and serving in the background; *out is the running
 * server (stop it with web_server_stop). The database is opened and
 * migrated first so that a bad data directory fails here. */
int web_server_start(web_server **out, const web_config *cfg);
/* The port actually bound. */
int web_server_port(const web_server *s);
/* Stop accepting, let in-flight requests finish, cancel background runs
 * (they stay resumable), join every thread and free 's' (NULL is fine). */
void web_server_stop(web_server *s);

/* Make the data directory ready to serve: the catalog repository and the
 * migrated database. With 'demo' and an empty data directory, seed the
 * example catalog from demo/ (embedded), add the baseline models and run
 * every demo suite so the leaderboard opens with a ranking. */
int web_prepare_data(const char *data_dir, int demo);

/* Roles, from most to least privileged. */
typedef enum { WEB_ROLE_ADMIN, WEB_ROLE_EDITOR, WEB_ROLE_RATER, WEB_ROLE_VIEWER } web_role;
/* Parse "admin"|"editor"|"rater"|"viewer"; AS_EINVAL otherwise. */
int web_role_parse(web_role *out, const char *name);
const char *web_role_name(web_role r);

/* Create user 'name' with 'role' and a new API token, returned once in
 * *token (caller frees; only its SHA-256 is stored). AS_EEXISTS if the
 * name is taken, AS_EINVAL for a bad name or role. */
int web_user_add(store *db, const char *name, const char *role, char **token);
/* Issue one more token for an existing user (*token as above). */
int web_user_new_token(store *db, const char *name, char **token);
/* Users as a JSON array of {id, name, role, created_at, tokens} (new ref). */
int web_user_list(store *db, json_t **out);
/* Remove a user with their tokens, sessions and ratings; AS_ENOTFOUND. */
int web_user_rm(store *db, const char *name);
/* How many users exist. */
int web_user_count(store *db, int64_t *out);

#endif
