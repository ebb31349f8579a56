/* The HTTP face of assay: civetweb with a fixed worker pool, the API
 * dispatcher (authentication, roles, CSRF, body cap, JSON errors) and the
 * embedded dashboard. API requests run on the handler pool (pool.h); each
 * pool thread opens its own SQLite connection on first use and closes it
 * when the thread ends. */
#include "web/http.h"

#include "common/embed.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/version.h"
#include "web/pool.h"
#include "web/respcache.h"
#include "web/summaries.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const as_embed web_assets[];
extern const int web_assets_count;

struct web_ctx {
    web_pool *pool;         /* where API requests run (full-size stacks) */
    web_summaries *summaries;
    web_respcache *resp;
    char *data_dir;
    char *db_path;
    size_t max_body;
    pthread_mutex_t jobs_lock;
    web_job *jobs;
};

struct web_server {
    struct mg_context *mg;
    web_ctx ctx;
    int port;
};

/* Every page and every API answer carries these. The policy forbids
 * inline scripts and styles, plugins, framing and foreign origins. */
static const char csp_header[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

static __thread store *tls_db;
static __thread int64_t tls_data_version = -1;  /* PRAGMA data_version last seen */

const char *web_ctx_data_dir(const web_ctx *c) { return c->data_dir; }
const char *web_ctx_db_path(const web_ctx *c) { return c->db_path; }
web_summaries *web_ctx_summaries(web_ctx *c) { return c->summaries; }

pthread_mutex_t *web_ctx_jobs_lock(web_ctx *c) { return &c->jobs_lock; }
web_job **web_ctx_jobs(web_ctx *c) { return &c->jobs; }

int web_status_for(int code)
{
    switch (code) {
    case AS_OK: return 200;
    case AS_ENOTFOUND: return 404;
    case AS_EEXISTS: return 409;
    case AS_EINVAL: return 400;
    case AS_ETOOBIG: return 413;
    case AS_ETIMEOUT: return 504;
    case AS_EBUSY: return 503;
    case AS_EUPSTREAM: return 502;
    case AS_ECONFLICT: return 409;
    case AS_EAUTH: return 401;
    case AS_EFORBIDDEN: return 403;
    case AS_EUNSUPPORTED: return 405;
    case AS_ECANCELED: return 409;
    default: return 500;
    }
}

static store *thread_db(web_ctx *c)
{
    if (tls_db == NULL && store_open(&tls_db, c->db_path, STORE_OPEN_NOCREATE) < 0)
        tls_db = NULL;
    return tls_db;
}

/* A pool thread ends: close its connection. */
static void close_thread_db(void)
{
    store_close(tls_db);
    tls_db = NULL;
    tls_data_version = -1;
}

static void send_bytes(struct mg_connection *conn, int status, const char *type,
                       const char *extra_header, const char *cookie, const void *data,
                       size_t len, const char *cache)
{
    int head = strcmp(mg_get_request_info(conn)->request_method, "HEAD") == 0;

    char clen[32];

    snprintf(clen, sizeof clen, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", type, -1);
    mg_response_header_add(conn, "Content-Length", clen, -1);
    mg_response_header_add(conn, "Content-Security-Policy", csp_header, -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(conn, "X-Frame-Options", "DENY", -1);
    mg_response_header_add(conn, "Referrer-Policy", "no-referrer", -1);
    mg_response_header_add(conn, "Cache-Control", cache, -1);
    if (extra_header)
        mg_response_header_add_lines(conn, extra_header);
    if (cookie)
        mg_response_header_add(conn, "Set-Cookie", cookie, -1);
    mg_response_header_send(conn);
    if (len && !head)
        mg_write(conn, data, len);
}

static void send_text(struct mg_connection *conn, int status, const char *text,
                      const char *cookie)
{
    send_bytes(conn, status, "application/json; charset=utf-8", NULL, cookie, text,
               strlen(text), "no-store");
}

static void send_oom(struct mg_connection *conn)
{
    static const char oom[] = "{\"error\":{\"code\":\"no_memory\",\"message\":\"out of memory\"}}";

    send_bytes(conn, 500, "application/json", NULL, NULL, oom, sizeof oom - 1, "no-store");
}

static void send_error(struct mg_connection *conn, int status, const char *code,
                       const char *msg, const char *extra_header)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *text = e ? as_json_dump(e) : NULL;

    if (text)
        send_bytes(conn, status, "application/json; charset=utf-8", extra_header, NULL, text,
                   strlen(text), "no-store");
    else
        send_bytes(conn, 500, "application/json", NULL, NULL, "{}", 2, "no-store");
    free(text);
    json_decref(e);
}

static void send_as_error(struct mg_connection *conn, int rc)
{
    const char *msg = as_error_msg();

    send_error(conn, web_status_for(rc), as_error_name(rc), msg[0] ? msg : "failed", NULL);
}

/* Read the body into *out (caller frees), refusing more than 'max' bytes
 * before reading when Content-Length says so, and while reading otherwise. */
static int read_body(struct mg_connection *conn, size_t max, char **out, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    size_t cap = 0, n = 0;
    char *buf = NULL;

    *out = NULL;
    *len = 0;
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max)
        return as_error_set(AS_ETOOBIG, "request body of %lld bytes is over the limit of %zu",
                            ri->content_length, max);
    for (;;) {
        int got;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb;
            if (ncap > max + 1)
                ncap = max + 1;
            if (ncap <= n) {
                free(buf);
                return as_error_set(AS_ETOOBIG, "request body is over the limit of %zu bytes",
                                    max);
            }
            if ((nb = realloc(buf, ncap + 1)) == NULL) {
                free(buf);
                return as_error_set(AS_ENOMEM, "out of memory");
            }
            buf = nb;
            cap = ncap;
        }
        got = mg_read(conn, buf + n, cap - n);
        if (got <= 0)
            break;
        n += (size_t)got;
        if (n > max) {
            free(buf);
            return as_error_set(AS_ETOOBIG, "request body is over the limit of %zu bytes", max);
        }
    }
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Match 'path' against 'pattern', filling r->params. */
static int match_route(const char *pattern, const char *path, web_req *r)
{
    int np = 0;

    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= sizeof r->params[0] || np >= WEB_MAX_PARAMS)
                return 0;
            memcpy(r->params[np], path, n);
            r->params[np][n] = '\0';
            np++;
            pattern += 2;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    if (*path == '/' && path[1] == '\0')
        path++;
    return *pattern == '\0' && *path == '\0';
}

static const web_route *const route_tables[] = {
    web_routes_core, web_routes_models, web_routes_catalog, web_routes_runs,
    web_routes_rating, web_routes_results, NULL
};

/* Find the route for r; *path_known tells a 405 from a 404. */
static const web_route *find_route(web_req *r, int *path_known)
{
    int t;

    *path_known = 0;
    for (t = 0; route_tables[t]; t++) {
        const web_route *rt;
        for (rt = route_tables[t]; rt->method; rt++) {
            if (!match_route(rt->pattern, r->path, r))
                continue;
            *path_known = 1;
            if (strcmp(rt->method, r->method) == 0)
                return rt;
        }
    }
    return NULL;
}

static int is_state_change(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* Authenticate from "Authorization: Bearer TOKEN" or the session cookie. */
static int authenticate(struct mg_connection *conn, web_req *r)
{
    const char *auth = mg_get_header(conn, "Authorization");
    const char *cookies = mg_get_header(conn, "Cookie");
    if (auth) {
        if (strncmp(auth, "Bearer ", 7) != 0)
            return as_error_set(AS_EAUTH, "Authorization must be 'Bearer TOKEN'");
        return web_auth_token(r->db, auth + 7, &r->user);
    }
    if (cookies && mg_get_cookie(cookies, "assay_session", r->session_id,
                                 sizeof r->session_id) > 0)
        return web_auth_session(r->db, r->session_id, &r->user);
    return as_error_set(AS_EAUTH, "log in first: send a session cookie or 'Authorization: Bearer TOKEN'");
}

static int api_request(struct mg_connection *conn, web_ctx *c)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const web_route *rt;
    web_req r;
    json_t *out = NULL;
    char *body = NULL, *text = NULL, key[1024];
    uint64_t gen = 0;
    int rc, path_known, cached;

    memset(&r, 0, sizeof r);
    r.ctx = c;
    r.method = ri->request_method;
    r.path = ri->local_uri + strlen("/api/v1");
    r.query = ri->query_string;
    r.status = 200;
    as_error_clear();
    if ((rt = find_route(&r, &path_known)) == NULL) {
        if (path_known)
            send_error(conn, 405, "method_not_allowed", "method not allowed on this path", NULL);
        else
            send_error(conn, 404, "not_found", "no such API route", NULL);
        return 405;
    }
    if ((r.db = thread_db(c)) == NULL) {
        send_as_error(conn, AS_ERROR);
        return 500;
    }
    if (rt->perm != WEB_PERM_PUBLIC) {
        if ((rc = authenticate(conn, &r)) < 0) {
            send_as_error(conn, rc);
            return 401;
        }
        if (!web_can(&r.user, rt->perm)) {
            send_error(conn, 403, "forbidden", "your role may not do this", NULL);
            return 403;
        }
        /* A cookie is sent by the browser on its own; a state change made
         * with it must prove it comes from our page. */
        if (r.user.via_session && is_state_change(r.method)) {
            const char *h = mg_get_header(conn, "X-CSRF-Token");
            if (h == NULL || !web_str_eq_ct(h, r.user.csrf)) {
                send_error(conn, 403, "csrf", "missing or wrong X-CSRF-Token header", NULL);
                return 403;
            }
        }
    }
    /* Answers that depend only on the database may come from the cache. */
    cached = (rt->perm & WEB_CACHED) &&
             snprintf(key, sizeof key, "%s?%s#%llu", ri->local_uri, r.query ? r.query : "",
                      (unsigned long long)web_jobs_generation()) < (int)sizeof key;
    if (cached) {
        int status;
        gen = web_respcache_sync(c->resp, r.db, &tls_data_version);
        if (web_respcache_get(c->resp, key, gen, &text, &status)) {
            send_text(conn, status, text, NULL);
            free(text);
            return status;
        }
    }
    if ((rc = read_body(conn, c->max_body, &body, &r.body_len)) < 0) {
        send_as_error(conn, rc);
        return 413;
    }
    r.body = body;
    if (r.body_len > 0) {
        const char *ct = mg_get_header(conn, "Content-Type");
        if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
            free(body);
            send_error(conn, 415, "unsupported_media_type",
                       "request bodies must be application/json", NULL);
            return 415;
        }
        if ((rc = as_json_parse(&r.json, body, r.body_len, "request body")) < 0) {
            free(body);
            send_as_error(conn, rc);
            return 400;
        }
    }
    rc = rt->fn(&r, &out);
    if (rc < 0) {
        send_as_error(conn, rc);
    } else if (out) {
        if ((text = as_json_dump(out)) == NULL) {
            send_oom(conn);
        } else {
            if (cached && r.status == 200)
                web_respcache_put(c->resp, key, gen, text, r.status);
            send_text(conn, r.status, text, r.set_cookie);
            free(text);
        }
    } else {
        send_bytes(conn, r.status == 200 ? 204 : r.status, "application/json", NULL,
                   r.set_cookie, "", 0, "no-store");
    }
    json_decref(out);
    json_decref(r.json);
    free(r.set_cookie);
    free(body);
    return 1;
}

typedef struct api_call {
    struct mg_connection *conn;
    web_ctx *ctx;
    int status;
} api_call;

static void api_call_run(void *arg)
{
    api_call *a = arg;

    a->status = api_request(a->conn, a->ctx);
}

/* civetweb's worker hands the request to the pool and waits. */
static int api_handler(struct mg_connection *conn, void *cbdata)
{
    api_call a = {conn, cbdata, 0};

    web_pool_call(a.ctx->pool, api_call_run, &a);
    return a.status;
}

static const char *mime_for(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcmp(dot, ".md") == 0 || strcmp(dot, ".txt") == 0)
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

static const as_embed *find_asset(const char *name)
{
    int lo = 0, hi = web_assets_count - 1;

    while (lo <= hi) {
        int mid = (lo + hi) / 2, cmp = strcmp(web_assets[mid].name, name);
        if (cmp == 0)
            return &web_assets[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* "/" is the dashboard; "/static/NAME" an embedded file. */
static int static_handler(struct mg_connection *conn, void *cbdata)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *uri = ri->local_uri;
    const as_embed *a = NULL;

    (void)cbdata;
    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        send_error(conn, 405, "method_not_allowed", "method not allowed", "Allow: GET, HEAD");
        return 405;
    }
    if (strcmp(uri, "/") == 0 || strcmp(uri, "/index.html") == 0)
        a = find_asset("index.html");
    else if (strncmp(uri, "/static/", 8) == 0)
        a = find_asset(uri + 8);
    if (a == NULL) {
        send_error(conn, 404, "not_found", "no such page", NULL);
        return 404;
    }
    send_bytes(conn, 200, mime_for(a->name), NULL, NULL, a->data, a->len, "no-cache");
    return 200;
}

/* While mg_start runs on this thread, civetweb's complaints are kept for
 * the one-line error a failed start gives, not printed. */
static _Thread_local char *start_msg;

static int log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    if (start_msg) {
        if (start_msg[0] == '\0')
            snprintf(start_msg, 256, "%s", message);
        return 1;
    }
    as_log_warn("web: %s", message);
    return 1;
}

/* The listening_ports value for 'bind' (an IPv4 or IPv6 address) and 'port'. */
static int listen_spec(char *out, size_t size, const char *bind, int port)
{
    unsigned char addr[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, bind, addr) == 1)
        snprintf(out, size, "%s:%d", bind, port);
    else if (inet_pton(AF_INET6, bind, addr) != 1)
        return as_error_set(AS_EINVAL, "bind address '%.200s': not an IPv4 or IPv6 address", bind);
    else if (!mg_check_feature(8))     /* 8: IPv6 */
        return as_error_set(AS_EUNSUPPORTED, "bind address '%s': this civetweb has no IPv6", bind);
    else
        snprintf(out, size, "[%s]:%d", bind, port);
    return 0;
}

int web_server_start(web_server **out, const web_config *cfg)
{
    web_server *s;
    struct mg_callbacks cb;
    struct mg_server_port ports[4];
    char listen[300], threads[16];
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    store *db = NULL;
    int rc, n;

    *out = NULL;
    if ((rc = listen_spec(listen, sizeof listen, bind, cfg->port)) < 0)
        return rc;
    if ((s = calloc(1, sizeof *s)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->ctx.max_body = cfg->max_body ? cfg->max_body : (size_t)1 << 20;
    s->ctx.data_dir = strdup(cfg->data_dir);
    s->ctx.db_path = as_path_join(cfg->data_dir, "assay.db");
    pthread_mutex_init(&s->ctx.jobs_lock, NULL);
    if (s->ctx.data_dir == NULL || s->ctx.db_path == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = store_open(&db, s->ctx.db_path, STORE_OPEN_MIGRATE)) < 0 ||
        (rc = web_summaries_new(&s->ctx.summaries)) < 0 ||
        (rc = web_respcache_new(&s->ctx.resp)) < 0)
        goto fail;
    store_close(db);

    snprintf(threads, sizeof threads, "%d", cfg->threads > 0 ? cfg->threads : 16);
    if ((rc = web_pool_start(&s->ctx.pool, cfg->threads > 0 ? cfg->threads : 16,
                             (size_t)8 << 20, close_thread_db)) < 0)
        goto fail;
    {
        const char *options[] = {
            "listening_ports", listen,
            "num_threads", threads,
            "request_timeout_ms", "30000",
            /* Without keep-alive a worker is never parked on an idle
             * client, so a fixed pool serves any number of clients. */
            "enable_keep_alive", "no",
            NULL
        };
        char why[256] = "";
        memset(&cb, 0, sizeof cb);
        cb.log_message = log_message;
        start_msg = why;
        s->mg = mg_start(&cb, &s->ctx, options);
        start_msg = NULL;
        if (s->mg == NULL) {
            rc = as_error_set(AS_ERROR, "cannot listen on %s (in use or not allowed)%s%s", listen,
                              why[0] ? ": " : "", why);
            goto fail;
        }
    }
    mg_set_request_handler(s->mg, "/api/v1", api_handler, &s->ctx);
    mg_set_request_handler(s->mg, "/", static_handler, &s->ctx);
    n = mg_get_server_ports(s->mg, 4, ports);
    s->port = n > 0 ? ports[0].port : cfg->port;
    *out = s;
    return 0;
fail:
    web_server_stop(s);
    return rc;
}

int web_server_port(const web_server *s)
{
    return s->port;
}

void web_server_stop(web_server *s)
{
    if (s == NULL)
        return;
    if (s->mg)
        mg_stop(s->mg);   /* waits for the workers, which finish their requests */
    web_pool_stop(s->ctx.pool);
    web_jobs_stop_all(&s->ctx);
    web_summaries_free(s->ctx.summaries);
    web_respcache_free(s->ctx.resp);
    pthread_mutex_destroy(&s->ctx.jobs_lock);
    free(s->ctx.data_dir);
    free(s->ctx.db_path);
    free(s);
}
