/* The gate's backend over a shared assay server (`assay gate --server URL`):
 * the same flow as over the local data directory, through the server's
 * JSON API under /api/v1/ with a bearer token, so that the runs of every
 * CI job land in one place. Suites, prompts, datasets and models are
 * resolved by the server's catalog; runs start with POST /runs (the server
 * runs them in the background) and are polled until they end.
 *
 * Errors: the server's {"error": {"code", "message"}} becomes the message
 * with the code by HTTP status (400 AS_EINVAL, 401/403 AS_EAUTH, 404
 * AS_ENOTFOUND, 409 AS_ECONFLICT, 413 AS_ETOOBIG); an unreachable server or
 * a 5xx is AS_EUPSTREAM. Every response is capped. */
#include "evaluator/gate_int.h"
#include "evaluator/eval.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REMOTE_BODY_MAX ((size_t)64 << 20)   /* one response */
#define REMOTE_PAGE 1000                     /* items per page (the server's largest) */
#define REMOTE_ITEMS_MAX 10000000            /* items of one run */
#define REMOTE_TIMEOUT_S 60L                 /* one request */
#define REMOTE_POLL_MS 500                   /* between looks at a running run */
#define REMOTE_STALLED 5                     /* looks at a run nobody runs before giving up */

typedef struct remote_be {
    CURL *curl;
    char *base;                     /* ".../api/v1" */
    struct curl_slist *headers;
} remote_be;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return as_buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

static int status_code(long http)
{
    switch (http) {
    case 400:
    case 422:
        return AS_EINVAL;
    case 401:
    case 403:
        return AS_EAUTH;
    case 404:
        return AS_ENOTFOUND;
    case 409:
        return AS_ECONFLICT;
    case 413:
        return AS_ETOOBIG;
    default:
        return http >= 500 ? AS_EUPSTREAM : AS_ERROR;
    }
}

/* 'method' the API path 'path' (escaped, with its query) with JSON 'body'
 * (may be NULL) into *out (new reference). */
static int http(gate *g, const char *method, const char *path, const json_t *body, json_t **out)
{
    remote_be *b = g->be;
    as_buf resp, url;
    char *text = NULL;
    long code = 0;
    CURLcode cc;
    int rc;

    *out = NULL;
    as_buf_init(&resp, REMOTE_BODY_MAX);
    as_buf_init(&url, 8192);
    if ((rc = as_buf_puts(&url, b->base)) < 0 || (rc = as_buf_puts(&url, path)) < 0)
        goto out;
    if (body && (text = as_json_dump(body)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    curl_easy_reset(b->curl);
    if (curl_easy_setopt(b->curl, CURLOPT_URL, url.data) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_HTTPHEADER, b->headers) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_WRITEDATA, &resp) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_TIMEOUT, REMOTE_TIMEOUT_S) != CURLE_OK ||
        curl_easy_setopt(b->curl, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
        (text && (curl_easy_setopt(b->curl, CURLOPT_POSTFIELDS, text) != CURLE_OK ||
                  curl_easy_setopt(b->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text)) != CURLE_OK))) {
        rc = as_error_set(AS_ERROR, "server: cannot set up the request");
        goto out;
    }
    if ((cc = curl_easy_perform(b->curl)) != CURLE_OK) {
        if (cc == CURLE_WRITE_ERROR)
            rc = as_error_set(AS_ETOOBIG, "server %s: response over %zu bytes", g->o->server,
                              REMOTE_BODY_MAX);
        else
            rc = as_error_set(AS_EUPSTREAM, "server %s: %s", g->o->server, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code);
    if (resp.len == 0 || as_json_parse(out, resp.data, resp.len, "server response") < 0) {
        rc = as_error_set(code >= 400 ? status_code(code) : AS_EUPSTREAM,
                          "server %s: %s %s: HTTP %ld without a JSON body", g->o->server, method,
                          path, code);
        goto out;
    }
    if (code >= 400) {
        const char *msg = json_string_value(json_object_get(json_object_get(*out, "error"), "message"));
        rc = as_error_set(status_code(code), "server: %s", msg ? msg : "request refused");
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    rc = 0;
out:
    free(text);
    as_buf_free(&resp);
    as_buf_free(&url);
    return rc;
}

/* Append 's' URL-escaped to 'b'. */
static int put_escaped(gate *g, as_buf *b, const char *s)
{
    char *e = curl_easy_escape(((remote_be *)g->be)->curl, s, 0);
    int rc;

    if (e == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_buf_puts(b, e);
    curl_free(e);
    return rc;
}

/* GET /KINDs/NAME[?ref=SUB][&extra] for reference "NAME[@SUB]". */
static int get_item(gate *g, cat_kind kind, const char *ref, const char *extra, json_t **out)
{
    const char *at = strchr(ref, '@');
    char name[CAT_NAME_MAX + 1];
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    as_buf path;
    int rc;

    if (n == 0 || n > CAT_NAME_MAX)
        return as_error_set(AS_EINVAL, "reference '%s': bad name", ref);
    memcpy(name, ref, n);
    name[n] = '\0';
    as_buf_init(&path, 4096);
    if ((rc = as_buf_printf(&path, "/%ss/", cat_kind_name(kind))) < 0 ||
        (rc = put_escaped(g, &path, name)) < 0 ||
        (at && ((rc = as_buf_puts(&path, "?ref=")) < 0 || (rc = put_escaped(g, &path, at + 1)) < 0)) ||
        (extra && (rc = as_buf_printf(&path, "%c%s", at ? '&' : '?', extra)) < 0))
        goto out;
    rc = http(g, "GET", path.data, NULL, out);
out:
    as_buf_free(&path);
    return rc;
}

static int version_from(cat_version *out, cat_kind kind, const json_t *v)
{
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *commit = json_string_value(json_object_get(v, "commit"));

    memset(out, 0, sizeof(*out));
    if (name == NULL || commit == NULL || strlen(name) > CAT_NAME_MAX || strlen(commit) != 40)
        return as_error_set(AS_EUPSTREAM, "server: a version without name or commit");
    out->kind = kind;
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->commit, sizeof(out->commit), "%s", commit);
    out->version = (int)json_integer_value(json_object_get(v, "version"));
    out->cases = json_integer_value(json_object_get(v, "cases"));
    return 0;
}

static int remote_resolve(gate *g, cat_kind kind, const char *ref, cat_version *out)
{
    json_t *r = NULL;
    int rc;

    if ((rc = get_item(g, kind, ref, kind == CAT_DATASET ? "limit=1" : NULL, &r)) < 0)
        return rc;
    rc = version_from(out, kind, json_object_get(r, "version"));
    json_decref(r);
    return rc;
}

static int remote_suite(gate *g, const char *ref, cat_suite **out, cat_version *ver)
{
    json_t *r = NULL;
    const char *text;
    int rc;

    if ((rc = get_item(g, CAT_SUITE, ref, NULL, &r)) < 0)
        return rc;
    if ((text = json_string_value(json_object_get(r, "text"))) == NULL)
        rc = as_error_set(AS_EUPSTREAM, "server: suite %s without its text", ref);
    else if ((rc = version_from(ver, CAT_SUITE, json_object_get(r, "version"))) == 0)
        rc = cat_suite_parse(out, text, strlen(text), ver->path[0] ? ver->path : ref);
    json_decref(r);
    return rc;
}

static int remote_model(gate *g, const char *name, eval_model *out)
{
    as_buf path;
    json_t *r = NULL;
    int rc;

    eval_model_init(out);
    as_buf_init(&path, 4096);
    if ((rc = as_buf_puts(&path, "/models/")) == 0 && (rc = put_escaped(g, &path, name)) == 0 &&
        (rc = http(g, "GET", path.data, NULL, &r)) == 0)
        rc = eval_model_from_json(out, r);
    json_decref(r);
    as_buf_free(&path);
    return rc;
}

static int remote_runs(gate *g, const char *suite, const char *model, json_t **out)
{
    as_buf path;
    json_t *r = NULL;
    int rc;

    *out = NULL;
    as_buf_init(&path, 4096);
    if ((rc = as_buf_puts(&path, "/runs?status=complete&suite=")) < 0 ||
        (rc = put_escaped(g, &path, suite)) < 0 || (rc = as_buf_puts(&path, "&model=")) < 0 ||
        (rc = put_escaped(g, &path, model)) < 0 ||
        (rc = as_buf_printf(&path, "&limit=%d", GATE_REUSE_SCAN)) < 0 ||
        (rc = http(g, "GET", path.data, NULL, &r)) < 0)
        goto out;
    if (!json_is_array(json_object_get(r, "runs"))) {
        rc = as_error_set(AS_EUPSTREAM, "server: run list without runs");
        goto out;
    }
    *out = json_incref(json_object_get(r, "runs"));
out:
    json_decref(r);
    as_buf_free(&path);
    return rc;
}

static int remote_summary(gate *g, int64_t id, json_t **out)
{
    char path[64];

    snprintf(path, sizeof(path), "/runs/%lld", (long long)id);
    return http(g, "GET", path, NULL, out);
}

static int remote_items(gate *g, int64_t id, json_t **out)
{
    json_t *all = json_array(), *r = NULL, *page;
    char path[128];
    int64_t offset = 0;
    int rc = 0;

    *out = NULL;
    if (all == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (;;) {
        snprintf(path, sizeof(path), "/runs/%lld/items?offset=%lld&limit=%d", (long long)id,
                 (long long)offset, REMOTE_PAGE);
        if ((rc = http(g, "GET", path, NULL, &r)) < 0)
            break;
        page = json_object_get(r, "items");
        if (!json_is_array(page)) {
            rc = as_error_set(AS_EUPSTREAM, "server: items of run %lld: no list", (long long)id);
            break;
        }
        json_array_extend(all, page);
        offset += (int64_t)json_array_size(page);
        if (offset > REMOTE_ITEMS_MAX) {
            rc = as_error_set(AS_ETOOBIG, "run %lld: more than %d items", (long long)id,
                              REMOTE_ITEMS_MAX);
            break;
        }
        if (json_array_size(page) < REMOTE_PAGE)
            break;
        json_decref(r);
        r = NULL;
    }
    json_decref(r);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Wait until run 'id' is no longer running on the server. */
static int wait_run(gate *g, int64_t id)
{
    int stalled = 0, rc;

    for (;;) {
        json_t *s = NULL;
        const char *st;
        int busy, running;
        if ((rc = remote_summary(g, id, &s)) < 0)
            return rc;
        st = json_string_value(json_object_get(s, "status"));
        busy = json_is_true(json_object_get(s, "in_progress"));
        running = st && strcmp(st, "running") == 0;
        json_decref(s);
        if (!running && !busy)
            return 0;
        /* 'running' that the server no longer works on: it was restarted */
        stalled = busy ? 0 : stalled + 1;
        if (stalled >= REMOTE_STALLED)
            return as_error_set(AS_EUPSTREAM, "run %lld: the server stopped working on it "
                                "(resume it there with 'assay eval --resume %lld')",
                                (long long)id, (long long)id);
        sleep_ms(REMOTE_POLL_MS);
    }
}

/* A prepared remote job is the body of its POST /runs: the server checks
 * everything when it is sent, before calling any model. 'prompt' (the
 * side's NAME@COMMIT) goes as the body's "prompt", so either side runs
 * with its own prompt version. */
static int remote_prepare(gate *g, const char *prompt, const char *const *names, size_t n,
                          void **job)
{
    json_t *body = json_pack("{s:s,s:i}", "suite", g->o->suite, "repeat", g->repeat), *list;
    size_t i;

    *job = NULL;
    if (body == NULL || (prompt && as_json_set_str(body, "prompt", prompt) < 0)) {
        json_decref(body);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if (names) {
        list = json_array();
        for (i = 0; i < n; i++)
            json_array_append_new(list, json_string(names[i]));
        json_object_set_new(body, "models", list);
    }
    *job = body;
    return 0;
}

static void remote_discard(gate *g, void *job)
{
    (void)g;
    json_decref(job);
}

static int remote_execute(gate *g, void *job, int64_t **ids, size_t *nids, int *status)
{
    json_t *body = job, *r = NULL, *v, *list;
    size_t i;
    int rc;

    *ids = NULL;
    *nids = 0;
    rc = http(g, "POST", "/runs", body, &r);
    json_decref(body);
    if (rc < 0)
        return rc;
    *status = GATE_INCOMPLETE;
    list = json_object_get(r, "runs");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        rc = as_error_set(AS_EUPSTREAM, "server: no run ids in the answer to POST /runs");
        goto out;
    }
    if ((*ids = calloc(json_array_size(list), sizeof(**ids))) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(list, i, v)
        (*ids)[(*nids)++] = json_integer_value(v);
    for (i = 0; i < *nids; i++)
        if ((rc = wait_run(g, (*ids)[i])) < 0)
            goto out;
    rc = 0;
out:
    json_decref(r);
    return rc;
}

static void remote_close(gate *g)
{
    remote_be *b = g->be;

    if (b == NULL)
        return;
    curl_slist_free_all(b->headers);
    if (b->curl)
        curl_easy_cleanup(b->curl);
    free(b->base);
    free(b);
    g->be = NULL;
}

static const gate_ops remote_ops = {
    remote_resolve, remote_suite,   remote_model,   remote_runs,    remote_summary,
    remote_items,   remote_prepare, remote_execute, remote_discard, remote_close,
};

int gate_remote_open(gate *g)
{
    const char *url = g->o->server, *token = g->o->token;
    remote_be *b;
    as_buf h;
    size_t n;
    struct curl_slist *l;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return as_error_set(AS_EINVAL, "--server %s: expected an http:// or https:// URL", url);
    if (token == NULL || token[0] == '\0' || strpbrk(token, "\r\n") != NULL)
        return as_error_set(AS_EINVAL, "--server: no API token (or one with a line break)");
    if (eval_global_check() < 0)
        return AS_EINVAL;
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    g->be = b;
    g->ops = &remote_ops;
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    as_buf_init(&h, 8192);
    if ((b->curl = curl_easy_init()) == NULL ||
        as_buf_printf(&h, "%.*s/api/v1", (int)n, url) < 0 || (b->base = as_buf_detach(&h)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (as_buf_printf(&h, "Authorization: Bearer %s", token) < 0 ||
        (l = curl_slist_append(NULL, h.data)) == NULL) {
        as_buf_free(&h);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    b->headers = l;
    as_buf_free(&h);
    if ((l = curl_slist_append(b->headers, "Content-Type: application/json")) == NULL ||
        (b->headers = l, l = curl_slist_append(b->headers, "Accept: application/json")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    b->headers = l;
    return 0;
}
