/* Internal to web/: one API request as the handlers see it, the reply
 * helpers, the route table and the per-thread database connection.
 * Handlers never see civetweb. */
#ifndef AS_WEB_HTTP_H
#define AS_WEB_HTTP_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "web/web.h"

typedef struct web_ctx web_ctx;   /* the server's shared state (server.c) */

/* The authenticated caller. */
typedef struct web_user {
    int64_t id;
    char name[128];
    web_role role;
    int via_session;        /* 1 when authenticated by the session cookie */
    char csrf[65];          /* the session's CSRF token, when via_session */
} web_user;

#define WEB_MAX_PARAMS 4

typedef struct web_req {
    const char *method;     /* "GET", "POST", ... */
    const char *path;       /* below /api/v1, e.g. "/prompts/x" */
    const char *query;      /* raw query string or NULL */
    const char *body;       /* NUL-terminated, possibly empty; capped */
    size_t body_len;
    json_t *json;           /* the body parsed, when the route takes JSON */
    char params[WEB_MAX_PARAMS][256];   /* the {} segments of the route */
    web_user user;          /* id 0 when nobody is logged in */
    char session_id[130];   /* the session cookie's value, when sent */
    store *db;              /* this worker thread's own connection */
    web_ctx *ctx;
    /* Set by handlers that answer something other than 200 with JSON. */
    int status;
    char *set_cookie;       /* a Set-Cookie value to send (owned) */
} web_req;

/* A handler fills *out (new reference) and returns 0, or returns an AS_E*
 * code with the message set; the server turns it into the error body. */
typedef int (*web_handler)(web_req *r, json_t **out);

/* Who may call a route. */
enum {
    WEB_PERM_PUBLIC = 0,    /* no login (health, session) */
    WEB_PERM_READ,          /* any role */
    WEB_PERM_RATE,          /* rater, editor, admin */
    WEB_PERM_EDIT,          /* editor, admin */
    WEB_PERM_ADMIN,         /* admin */
    /* Or'ed into a GET route's perm: its answer depends only on the
     * database and may be served from the answer cache (respcache.h). */
    WEB_CACHED = 0x100
};

typedef struct web_route {
    const char *method;
    const char *pattern;    /* "/prompts/{}/versions"; {} matches one segment */
    int perm;
    web_handler fn;
} web_route;

/* The route tables of each area, each ending with a NULL method. */
extern const web_route web_routes_core[];
extern const web_route web_routes_catalog[];
extern const web_route web_routes_models[];
extern const web_route web_routes_runs[];
extern const web_route web_routes_rating[];
extern const web_route web_routes_results[];

/* Query-string helpers. web_query_str copies the decoded value of 'name'
 * into buf and returns 1, or returns 0 when absent. */
int web_query_str(const web_req *r, const char *name, char *buf, size_t size);
/* An integer parameter within [min, max], 'def' when absent; AS_EINVAL
 * naming the parameter when malformed or out of range. */
int web_query_int(const web_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                  int64_t *out);
/* offset (default 0) and limit (default 50, at most 1000). */
int web_query_page(const web_req *r, int64_t *offset, int64_t *limit);
/* A positive integer id from a path segment ('what' names it). */
int web_parse_id(const char *what, const char *s, int64_t *out);
/* The body as a JSON object, AS_EINVAL when absent or not an object. */
int web_body_object(web_req *r, json_t **obj);

/* Role checks. */
int web_can(const web_user *u, int perm);

/* Shared state accessors. */
const char *web_ctx_data_dir(const web_ctx *c);
const char *web_ctx_db_path(const web_ctx *c);
/* The run summary cache (summaries.h). */
struct web_summaries *web_ctx_summaries(web_ctx *c);

/* Auth (auth.c). */
int web_auth_token(store *db, const char *token, web_user *out);
int web_auth_session(store *db, const char *session_id, web_user *out);
/* Create a session for 'user': *cookie_value is the random id for the
 * cookie (caller frees), csrf receives the CSRF token. */
int web_session_create(store *db, const web_user *user, char **cookie_value, char csrf[65]);
int web_session_delete(store *db, const char *session_id);
/* Constant-time string equality. */
int web_str_eq_ct(const char *a, const char *b);
/* Random lower-case hex of 'nbytes' bytes into out (2*nbytes+1). */
int web_random_hex(char *out, size_t nbytes);

/* HTTP status for an AS_E* code (the one table). */
int web_status_for(int code);

/* Background jobs (jobs.c): run(arg) on its own thread; cancel(arg) asks
 * it to stop from another thread; free_arg(arg) runs when it has ended.
 * A job is known by 'keys' (the run ids it works on). The job owns 'arg'
 * from the call on, even when starting fails. */
int web_jobs_start(web_ctx *c, const int64_t *keys, size_t nkeys, void (*run)(void *),
                   void (*cancel)(void *), void (*free_arg)(void *), void *arg);
/* 1 when another job may start now (at most 32 run at once). */
int web_jobs_room(web_ctx *c);
/* Ask the job working on 'key' to stop; AS_ENOTFOUND when none runs. */
int web_jobs_cancel(web_ctx *c, int64_t key);
/* Is a job working on 'key' running? */
int web_jobs_running(web_ctx *c, int64_t key);
/* A number that moves whenever a job starts or ends. */
uint64_t web_jobs_generation(void);
/* Cancel and join every job (web_server_stop). */
void web_jobs_stop_all(web_ctx *c);
/* The job list inside the server state, for jobs.c. */
typedef struct web_job web_job;
pthread_mutex_t *web_ctx_jobs_lock(web_ctx *c);
web_job **web_ctx_jobs(web_ctx *c);

#endif
