/* The run scheduler (scheduler.h): lanes of jobs over one libcurl multi
 * handle on one thread. A job is in one of three places: in flight (an easy
 * handle on the multi handle, or in a direct lane's batch), waiting (a
 * retry backoff, a follow-up step's delay, or the lane's rate limit), or
 * done.
 *
 * Direct providers (baseline, replay, the local engine) answer a batch
 * synchronously: each direct lane runs its batch's 'invoke' on a worker
 * thread of its own, one batch at a time, so the loop keeps sending and
 * reading the HTTP lanes' requests meanwhile. The worker touches nothing
 * but the batch and the provider instance (used by that one thread while
 * the batch runs) and wakes the loop when it is over; the results are
 * handed to the lane's owner on the loop's thread, as every other.
 *
 * Streaming providers (the local engine) get one worker thread for the
 * whole run, fed through a prov_feed (feed.h): the loop keeps up to the
 * lane's concurrency of calls queued or in the worker's hands and hands
 * each answer to the owner as soon as the worker gives it. */
#include "evaluator/scheduler.h"
#include "evaluator/eval.h"
#include "evaluator/providers/feed.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/rand.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct lane lane;

#define BATCH_MAX 256

/* A direct lane's batch, answered by 'invoke' on a worker thread. */
typedef struct batch {
    lane *ln;
    CURLM *multi;               /* to wake the loop (curl_multi_wakeup is thread-safe) */
    sched_job *jobs[BATCH_MAX];
    prov_call calls[BATCH_MAX];
    prov_result res[BATCH_MAX];
    size_t n;
    int rc;                     /* invoke's return */
    char err[512];              /* its error message, from the worker's thread */
    pthread_t th;
    int threaded;               /* th was started (else the batch ran inline) */
    atomic_int over;            /* the worker is done with the batch */
} batch;

typedef struct xfer {
    lane *ln;
    sched_job *job;
    void *state;                /* the provider's per-case state */
    prov_request req;
    struct curl_slist *hdrs;
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    char *body;                 /* buffered body */
    size_t body_len, body_cap;
    int body_truncated;
    char *headers;              /* raw header block */
    size_t headers_len, headers_cap;
    long status;
    int data_error;             /* on_data's negative code */
    char *data_error_msg;
    double t_attempt;           /* when the current attempt started (ms) */
    double t_case;              /* when the first step of this attempt started */
    double ttft_ms;
    double due_ms;              /* waiting: when to start */
    int attempt;                /* 0-based */
    int started;                /* begin() done */
    int new_attempt;            /* the next launch starts an attempt at step 0 */
    struct xfer *next;          /* in the waiting list */
    struct xfer *fprev, *fnext; /* in the in-flight list */
} xfer;

struct lane {
    prov *p;
    sched_limits lim;
    sched_lane_ops ops;
    void *arg;
    int active;                 /* jobs taken and not done */
    int ended;                  /* next() said SCHED_END */
    batch *batch;               /* direct lanes: the batch being answered, or NULL */
    prov_feed *feed;            /* streaming lanes: the worker's feed, once started */
    double next_start_ms;       /* rate limit: no request starts before */
    struct lane *next;
};

struct sched {
    CURLM *multi;
    lane *lanes;
    xfer *waiting;
    xfer *flying;               /* on the multi handle */
    int inflight;
    CURL **pool;                /* idle easy handles, for keep-alive */
    size_t npool, pool_cap;
    int error;                  /* first fatal error */
};

#define STALL_DEFAULT_S 30.0

double sched_backoff_s(int n, double server_s, double r)
{
    double d;

    if (server_s > 0 && server_s <= 60)
        return server_s;
    d = 0.5 * pow(2.0, n);
    if (d > 8.0)
        d = 8.0;
    return d * (1.0 - 0.25 * r);
}

static double rand_unit(void)
{
    uint32_t v = 0;

    if (as_random_bytes(&v, sizeof(v)) < 0)
        return 0.5;
    return (double)v / 4294967296.0;
}

int sched_new(sched **out)
{
    sched *s;

    *out = NULL;
    if (eval_global_check() < 0)
        return AS_EINVAL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((s->multi = curl_multi_init()) == NULL) {
        free(s);
        return as_error_set(AS_ERROR, "libcurl: cannot create a multi handle");
    }
    *out = s;
    return 0;
}

int sched_add_lane(sched *s, prov *p, const sched_limits *limits, const sched_lane_ops *ops,
                   void *arg)
{
    lane *l = calloc(1, sizeof(*l)), **tail;

    if (l == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    l->p = p;
    l->lim = *limits;
    if (l->lim.concurrency < 1)
        l->lim.concurrency = 1;
    if (l->lim.stall_s <= 0)
        l->lim.stall_s = STALL_DEFAULT_S;
    if (l->lim.timeout_s <= 0)
        l->lim.timeout_s = 60;
    l->ops = *ops;
    l->arg = arg;
    for (tail = &s->lanes; *tail; tail = &(*tail)->next)
        ;
    *tail = l;
    return 0;
}

static void xfer_reset_io(xfer *x)
{
    free(x->body);
    free(x->headers);
    free(x->data_error_msg);
    x->body = x->headers = x->data_error_msg = NULL;
    x->body_len = x->body_cap = x->headers_len = x->headers_cap = 0;
    x->body_truncated = 0;
    x->status = 0;
    x->data_error = 0;
    x->errbuf[0] = '\0';
    prov_request_clear(&x->req);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
}

static void release_easy(sched *s, xfer *x)
{
    if (x->easy == NULL)
        return;
    curl_multi_remove_handle(s->multi, x->easy);
    if (x->fprev)
        x->fprev->fnext = x->fnext;
    else if (s->flying == x)
        s->flying = x->fnext;
    if (x->fnext)
        x->fnext->fprev = x->fprev;
    x->fprev = x->fnext = NULL;
    if (s->npool < 256) {
        if (s->npool == s->pool_cap) {
            size_t cap = s->pool_cap ? s->pool_cap * 2 : 16;
            CURL **g = realloc(s->pool, cap * sizeof(*g));
            if (g) {
                s->pool = g;
                s->pool_cap = cap;
            }
        }
        if (s->npool < s->pool_cap) {
            s->pool[s->npool++] = x->easy;
            x->easy = NULL;
            return;
        }
    }
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
}

static void xfer_free(sched *s, xfer *x)
{
    release_easy(s, x);
    xfer_reset_io(x);
    if (x->state && x->ln->p->vt->state_free)
        x->ln->p->vt->state_free(x->state);
    free(x);
}

static int grow_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        char *g;
        while (c < *len + n + 1)
            c *= 2;
        if ((g = realloc(*buf, c)) == NULL)
            return -1;
        *buf = g;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
        x->headers_len = 0;    /* a new response (after 100 Continue, redirects) */
    if (x->headers_len + len <= PROV_HEADERS_MAX)
        if (grow_append(&x->headers, &x->headers_len, &x->headers_cap, data, len) < 0)
            return 0;
    return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;

    if (x->status == 0)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->req.stream && x->status >= 200 && x->status < 300 && x->ln->p->vt->on_data) {
        int rc = x->ln->p->vt->on_data(x->ln->p, x->state, data, len);
        if (rc < 0) {
            x->data_error = rc;
            x->data_error_msg = strdup(as_error_msg());
            return 0;
        }
        if (rc == PROV_DATA_FIRST_TOKEN && x->ttft_ms < 0)
            x->ttft_ms = as_clock_ms() - x->t_attempt;
        return len;
    }
    if (x->body_len + len > PROV_BODY_MAX) {
        x->body_truncated = 1;
        return 0;
    }
    if (grow_append(&x->body, &x->body_len, &x->body_cap, data, len) < 0) {
        x->data_error = AS_ENOMEM;
        return 0;
    }
    return len;
}

/* Build the step's request and put it on the multi handle. Failures to
 * build are the provider's: reported as a non-retryable error by 'fail'. */
static int start_xfer(sched *s, xfer *x, prov_result *fail)
{
    lane *ln = x->ln;
    const prov_vtable *vt = ln->p->vt;
    CURL *e;
    size_t i;
    double timeout = ln->lim.timeout_s;
    int rc;

    xfer_reset_io(x);
    x->job->call.attempt = x->attempt;
    if (!x->started) {
        x->started = 1;
        if (vt->begin && (rc = vt->begin(ln->p, &x->job->call, &x->state)) < 0) {
            prov_result_fail(fail, rc, PROV_RETRY_NO, "%s", as_error_msg());
            return -1;
        }
    }
    if ((rc = vt->build_request(ln->p, &x->job->call, x->state, &x->req)) < 0 ||
        (vt->sign && (rc = vt->sign(ln->p, x->state, &x->req)) < 0)) {
        prov_result_fail(fail, rc, PROV_RETRY_NO, "building the request: %s", as_error_msg());
        return -1;
    }
    if (x->req.url == NULL) {
        prov_result_fail(fail, AS_EINVAL, PROV_RETRY_NO, "provider built no URL");
        return -1;
    }
    for (i = 0; i < x->req.nheaders; i++) {
        struct curl_slist *h = curl_slist_append(x->hdrs, x->req.headers[i]);
        if (h == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        x->hdrs = h;
    }
    {   /* no "Expect: 100-continue" round trip on big bodies (never signed) */
        struct curl_slist *h = curl_slist_append(x->hdrs, "Expect:");
        if (h == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        x->hdrs = h;
    }
    if (x->req.timeout_s > 0)
        timeout = x->req.timeout_s;
    if (s->npool > 0) {
        e = s->pool[--s->npool];
        curl_easy_reset(e);
    } else if ((e = curl_easy_init()) == NULL) {
        return as_error_set(AS_ENOMEM, "libcurl: cannot create a handle");
    }
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, x->req.url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 30 ? timeout * 1000 : 30000));
    if (x->req.stream) {
        /* a stream that sends nothing for stall_s is dead; a plain request
         * may think in silence up to its timeout */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)ceil(ln->lim.stall_s));
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (strcmp(x->req.method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req.body ? x->req.body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.body_len);
        if (strcmp(x->req.method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->req.method);
    }
    x->t_attempt = as_clock_ms();
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK)
        return as_error_set(AS_ERROR, "libcurl: cannot add a transfer");
    x->fnext = s->flying;
    if (s->flying)
        s->flying->fprev = x;
    s->flying = x;
    s->inflight++;
    return 0;
}

static void wait_push(sched *s, xfer *x, double due)
{
    x->due_ms = due;
    x->next = s->waiting;
    s->waiting = x;
}

/* The job is over: hand its result to the owner. */
static int finish(sched *s, xfer *x, prov_result *res)
{
    lane *ln = x->ln;
    int rc;

    if (res->latency_ms < 0)
        res->latency_ms = as_clock_ms() - x->t_case;
    if (res->ttft_ms < 0)
        res->ttft_ms = x->ttft_ms;
    ln->active--;
    rc = ln->ops.done(ln->arg, x->job, res, x->attempt + 1);
    prov_result_clear(res);
    xfer_free(s, x);
    return rc;
}

static int report_attempt(xfer *x, long status, const char *err, double dur)
{
    if (x->ln->ops.attempt == NULL)
        return 0;
    return x->ln->ops.attempt(x->ln->arg, x->job, x->attempt, status, err, dur);
}

/* A failed attempt: wait and retry, or finish with the error. */
static int retry_or_finish(sched *s, xfer *x, prov_result *res, int retryable, double server_s)
{
    if (retryable && x->attempt < x->ln->lim.max_retries) {
        double d = sched_backoff_s(x->attempt, server_s, rand_unit());
        as_log_debug("case %s: attempt %d failed (%s); retrying in %.2f s", x->job->call.case_id,
                     x->attempt + 1, res->error_msg ? res->error_msg : "?", d);
        prov_result_clear(res);
        x->attempt++;
        x->new_attempt = 1;
        release_easy(s, x);
        wait_push(s, x, as_clock_ms() + d * 1000);
        return 0;
    }
    return finish(s, x, res);
}

/* The server's asked delay: retry-after-ms, else Retry-After. */
static double server_delay(xfer *x)
{
    char v[64];
    curl_off_t ra = -1;

    if (prov_header_get(x->headers, "retry-after-ms", v, sizeof(v))) {
        char *end;
        double ms = strtod(v, &end);
        if (end != v && ms > 0)
            return ms / 1000.0;
    }
    if (prov_header_get(x->headers, "retry-after", v, sizeof(v))) {
        char *end;
        double sec = strtod(v, &end);
        if (end != v && *end == '\0')
            return sec;
    }
    if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        return (double)ra;    /* an HTTP-date, parsed by libcurl */
    return -1;
}

static int default_retryable(long status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

static int on_complete(sched *s, xfer *x, CURLcode cc)
{
    lane *ln = x->ln;
    prov_result res;
    double dur = as_clock_ms() - x->t_attempt;
    int rc, step, retryable;
    char v[16];

    s->inflight--;
    prov_result_init(&res);
    if (x->status == 0)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && x->body_truncated)) {
        if (x->data_error == AS_ENOMEM)
            return as_error_set(AS_ENOMEM, "out of memory");
        if (x->data_error)
            prov_result_fail(&res, AS_EUPSTREAM, PROV_RETRY_YES, "bad stream: %s",
                             x->data_error_msg ? x->data_error_msg : "unparseable");
        else if (cc == CURLE_OPERATION_TIMEDOUT && dur < ln->lim.timeout_s * 1000 - 50)
            prov_result_fail(&res, AS_ETIMEOUT, PROV_RETRY_YES,
                             "stalled: no data for %.0f s", ln->lim.stall_s);
        else if (cc == CURLE_OPERATION_TIMEDOUT)
            prov_result_fail(&res, AS_ETIMEOUT, PROV_RETRY_YES, "timed out after %.1f s",
                             dur / 1000.0);
        else
            prov_result_fail(&res, AS_EUPSTREAM, PROV_RETRY_YES, "%s",
                             x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        if ((rc = report_attempt(x, x->status, res.error_msg, dur)) < 0) {
            prov_result_clear(&res);
            return rc;
        }
        return retry_or_finish(s, x, &res, 1, -1);
    }
    {
        prov_response resp = {
            .status = x->status,
            .headers = x->headers ? x->headers : "",
            .body = x->body ? x->body : "",
            .body_len = x->body_len,
            .body_truncated = x->body_truncated,
            .stream_complete = 1,
        };
        step = ln->p->vt->parse_response(ln->p, &x->job->call, x->state, &resp, &res);
    }
    if (step < 0) {
        prov_result_clear(&res);
        return step;
    }
    if ((rc = report_attempt(x, x->status, res.error ? res.error_msg : NULL, dur)) < 0) {
        prov_result_clear(&res);
        return rc;
    }
    if (res.error == 0 && step == PROV_STEP_NEXT) {
        double d = res.next_delay_ms > 0 ? res.next_delay_ms : 0;
        prov_result_clear(&res);
        release_easy(s, x);
        wait_push(s, x, as_clock_ms() + d);
        return 0;
    }
    if (res.error == 0)
        return finish(s, x, &res);
    if (res.retry == PROV_RETRY_YES)
        retryable = 1;
    else if (res.retry == PROV_RETRY_NO)
        retryable = 0;
    else
        retryable = default_retryable(x->status);
    if (prov_header_get(x->headers, "x-should-retry", v, sizeof(v)))
        retryable = strcasecmp(v, "true") == 0;
    return retry_or_finish(s, x, &res, retryable, server_delay(x));
}

/* Start x now, or park it until the lane's rate limit allows. */
static int launch(sched *s, xfer *x)
{
    lane *ln = x->ln;
    double now = as_clock_ms();
    prov_result res;

    if (ln->lim.rpm > 0) {
        if (now < ln->next_start_ms) {
            wait_push(s, x, ln->next_start_ms);
            return 0;
        }
        ln->next_start_ms = now + 60000.0 / ln->lim.rpm;
    }
    if (x->new_attempt) {
        x->t_case = now;
        x->ttft_ms = -1;
        x->new_attempt = 0;
    }
    prov_result_init(&res);
    if (start_xfer(s, x, &res) < 0) {
        if (res.error == 0)
            return s->error ? s->error : AS_ENOMEM;
        return finish(s, x, &res);
    }
    return 0;
}

static void *batch_main(void *arg)
{
    batch *b = arg;

    b->rc = b->ln->p->vt->invoke(b->ln->p, b->calls, b->n, b->res);
    if (b->rc < 0)
        snprintf(b->err, sizeof(b->err), "%s", as_error_msg());
    atomic_store(&b->over, 1);
    curl_multi_wakeup(b->multi);
    return NULL;
}

/* Hand a finished batch's results to the lane's owner (all of them, even
 * after a failing callback: each job goes back to its owner) and free it.
 * Returns the first callback failure, or the number of results. */
static int batch_deliver(lane *ln)
{
    batch *b = ln->batch;
    size_t i;
    int rc = 0;

    if (b->threaded)
        pthread_join(b->th, NULL);
    ln->batch = NULL;
    ln->active -= (int)b->n;
    if (b->rc < 0)
        for (i = 0; i < b->n; i++)
            prov_result_fail(&b->res[i], b->rc, PROV_RETRY_NO, "%s", b->err);
    for (i = 0; i < b->n; i++) {
        int r = 0;
        if (rc == 0 && ln->ops.attempt)
            r = ln->ops.attempt(ln->arg, b->jobs[i], 0, 0,
                                b->res[i].error ? b->res[i].error_msg : NULL,
                                b->res[i].latency_ms > 0 ? b->res[i].latency_ms : 0);
        if (r == 0)
            r = ln->ops.done(ln->arg, b->jobs[i], &b->res[i], 1);
        if (r < 0 && rc == 0)
            rc = r;
        prov_result_clear(&b->res[i]);
    }
    i = b->n;
    free(b);
    return rc < 0 ? rc : (int)i;
}

/* Direct providers: deliver the lane's batch once its worker is over, then
 * start the next one of up to the lane's concurrency. Returns > 0 when
 * results were delivered, 0 when nothing changed, or a negative error. */
static int run_direct(sched *s, lane *ln)
{
    size_t want = (size_t)ln->lim.concurrency;
    int got = SCHED_NONE, delivered = 0;
    batch *b;

    if (ln->batch) {
        if (!atomic_load(&ln->batch->over))
            return 0;
        if ((delivered = batch_deliver(ln)) < 0)
            return delivered;
    }
    if (ln->ended)
        return delivered;
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    b->ln = ln;
    b->multi = s->multi;
    if (want > BATCH_MAX)
        want = BATCH_MAX;
    while (b->n < want && (got = ln->ops.next(ln->arg, &b->jobs[b->n])) == SCHED_JOB) {
        b->calls[b->n] = b->jobs[b->n]->call;
        prov_result_init(&b->res[b->n]);
        b->n++;
    }
    if (b->n < want && got == SCHED_END)
        ln->ended = 1;
    if (b->n < want && got < 0) {
        /* the owner failed: what it handed out goes back unanswered */
        size_t i;
        for (i = 0; i < b->n; i++) {
            prov_result_fail(&b->res[i], AS_ECANCELED, PROV_RETRY_NO, "canceled");
            ln->ops.done(ln->arg, b->jobs[i], &b->res[i], 1);
            prov_result_clear(&b->res[i]);
        }
        free(b);
        return got;
    }
    if (b->n == 0) {
        free(b);
        return delivered;
    }
    ln->batch = b;
    ln->active += (int)b->n;
    if (pthread_create(&b->th, NULL, batch_main, b) == 0)
        b->threaded = 1;
    else
        batch_main(b);          /* no thread to be had: answer it here */
    return delivered;
}

/* Take new jobs from a lane while it has room. */
static int fill_lane(sched *s, lane *ln)
{
    while (!ln->ended && ln->active < ln->lim.concurrency) {
        sched_job *job = NULL;
        xfer *x;
        int got = ln->ops.next(ln->arg, &job), rc;
        if (got < 0)
            return got;
        if (got == SCHED_END) {
            ln->ended = 1;
            break;
        }
        if (got == SCHED_NONE)
            break;
        if ((x = calloc(1, sizeof(*x))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        x->ln = ln;
        x->job = job;
        x->ttft_ms = -1;
        x->new_attempt = 1;
        ln->active++;
        if ((rc = launch(s, x)) < 0)
            return rc;
        if (ln->lim.rpm > 0 && s->waiting == x)
            break;  /* rate limited: take no more for now */
    }
    return 0;
}

/* Stop: every job still held is handed back to its owner with
 * AS_ECANCELED (the owner records nothing for it), except the answers of a
 * direct batch being answered: its worker is waited for and its answers,
 * real ones, are handed over. */
static void wake_loop(void *arg)
{
    curl_multi_wakeup(arg);
}

/* Hand the feed's answered calls (all it holds once the worker is joined)
 * to the lane's owner. Returns the first callback failure, or the number
 * delivered. */
static int feed_deliver(lane *ln)
{
    void *jobs[64];
    prov_result res[64];
    size_t n, i;
    int rc = 0, count = 0;

    while ((n = feed_collect(ln->feed, jobs, res, 64)) > 0) {
        for (i = 0; i < n; i++) {
            int r = 0;

            ln->active--;
            if (rc == 0 && ln->ops.attempt)
                r = ln->ops.attempt(ln->arg, jobs[i], 0, 0, res[i].error ? res[i].error_msg : NULL,
                                    res[i].latency_ms > 0 ? res[i].latency_ms : 0);
            if (r == 0)
                r = ln->ops.done(ln->arg, jobs[i], &res[i], 1);
            if (r < 0 && rc == 0)
                rc = r;
            prov_result_clear(&res[i]);
        }
        count += (int)n;
    }
    return rc < 0 ? rc : count;
}

/* Stop a streaming lane's worker and hand back what it held. */
static void feed_stop(lane *ln)
{
    feed_cancel(ln->feed);
    feed_join(ln->feed);
    feed_deliver(ln);
    feed_free(ln->feed);
    ln->feed = NULL;
}

/* Streaming providers: start the worker on first use, deliver its answers,
 * then queue jobs while the feed has room. Returns > 0 when answers were
 * delivered, 0 when nothing changed, or a negative error (the worker
 * failing or stopping before its calls ended stops the run). */
static int run_stream(sched *s, lane *ln)
{
    /* room for a second round of calls, ready as slots free */
    size_t room, cap = ln->lim.concurrency > 0 ? 2 * (size_t)ln->lim.concurrency : 2;
    int delivered, got = SCHED_NONE, over, rc;
    sched_job *job;

    if (ln->feed == NULL) {
        if (cap > 8192)
            cap = 8192;
        if ((rc = feed_new(&ln->feed, cap, wake_loop, s->multi)) < 0)
            return rc;
        if ((rc = feed_start(ln->feed, ln->p)) < 0) {
            feed_free(ln->feed);
            ln->feed = NULL;
            return rc;
        }
    }
    if ((over = feed_over(ln->feed)))
        feed_join(ln->feed);
    if ((delivered = feed_deliver(ln)) < 0)
        return delivered;
    if (over) {
        feed_free(ln->feed);
        ln->feed = NULL;
        if (!ln->ended)
            return as_error_set(AS_ERROR, "provider %s stopped before its calls ended",
                                ln->p->vt->name);
        return delivered;
    }
    for (room = feed_room(ln->feed); !ln->ended && room > 0; room--) {
        if ((got = ln->ops.next(ln->arg, &job)) != SCHED_JOB)
            break;
        if ((rc = feed_put(ln->feed, &job->call, job)) < 0)
            return rc;
        ln->active++;
    }
    if (got == SCHED_END) {
        ln->ended = 1;
        feed_end(ln->feed);
    }
    return got < 0 ? got : delivered;
}

static void abandon_all(sched *s)
{
    xfer *x;
    prov_result res;
    lane *ln;

    for (ln = s->lanes; ln; ln = ln->next) {
        if (ln->batch)
            batch_deliver(ln);
        if (ln->feed)
            feed_stop(ln);
    }

    while ((x = s->waiting) != NULL || (x = s->flying) != NULL) {
        if (x == s->waiting)
            s->waiting = x->next;
        else
            s->inflight--;
        release_easy(s, x);
        prov_result_init(&res);
        prov_result_fail(&res, AS_ECANCELED, PROV_RETRY_NO, "canceled");
        x->ln->active--;
        x->ln->ops.done(x->ln->arg, x->job, &res, x->attempt + 1);
        prov_result_clear(&res);
        xfer_free(s, x);
    }
}

int sched_run(sched *s, atomic_int *cancel)
{
    int rc = 0, running = 0;
    lane *ln;

    for (;;) {
        double now = as_clock_ms(), next_due = -1;
        int all_ended = 1, direct_work = 0, completed = 0, batches = 0, timeout_ms;
        xfer **pp, *x;
        CURLMsg *msg;
        int left;

        if (cancel && atomic_load(cancel)) {
            rc = as_error_set(AS_ECANCELED, "canceled");
            break;
        }
        /* waiting jobs whose time has come */
        for (pp = &s->waiting; (x = *pp) != NULL;) {
            if (x->due_ms <= now) {
                *pp = x->next;
                x->next = NULL;
                if ((rc = launch(s, x)) < 0)
                    goto out;
            } else {
                if (next_due < 0 || x->due_ms < next_due)
                    next_due = x->due_ms;
                pp = &x->next;
            }
        }
        for (ln = s->lanes; ln; ln = ln->next) {
            if (ln->p->vt->serve) {
                if (!ln->ended || ln->feed) {
                    if ((rc = run_stream(s, ln)) < 0)
                        goto out;
                    if (rc > 0)
                        direct_work = 1;
                    rc = 0;
                    batches += ln->feed != NULL;
                }
            } else if (ln->p->vt->invoke) {
                if (!ln->ended || ln->batch) {
                    if ((rc = run_direct(s, ln)) < 0)
                        goto out;
                    if (rc > 0)
                        direct_work = 1;    /* answers delivered: other lanes may go on */
                    rc = 0;
                    batches += ln->batch != NULL;
                }
            } else if ((rc = fill_lane(s, ln)) < 0) {
                goto out;
            }
            if (!ln->ended || ln->active > 0 || ln->feed != NULL)
                all_ended = 0;
            if (ln->ops.tick && (rc = ln->ops.tick(ln->arg)) < 0)
                goto out;
        }
        if (all_ended && s->inflight == 0 && s->waiting == NULL)
            break;
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            rc = as_error_set(AS_ERROR, "libcurl: multi perform failed");
            break;
        }
        while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if ((rc = on_complete(s, x, msg->data.result)) < 0)
                goto out;
            completed = 1;
        }
        timeout_ms = 100;
        if (direct_work || completed)
            timeout_ms = 0;     /* refill the lanes at once */
        if (next_due >= 0) {
            double d = next_due - as_clock_ms();
            if (d < timeout_ms)
                timeout_ms = d > 0 ? (int)d + 1 : 0;
        }
        if (s->inflight > 0 || timeout_ms > 0) {
            if (s->inflight == 0 && s->waiting == NULL && batches == 0) {
                /* lanes waiting on other lanes (judges): poll briefly
                 * (a batch's worker wakes the poll when it is over) */
                timeout_ms = timeout_ms > 10 ? 10 : timeout_ms;
            }
            if (curl_multi_poll(s->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK) {
                rc = as_error_set(AS_ERROR, "libcurl: poll failed");
                break;
            }
        }
    }
out:
    if (rc < 0)
        abandon_all(s);
    return rc;
}

void sched_free(sched *s)
{
    lane *ln, *nl;
    size_t i;

    if (s == NULL)
        return;
    abandon_all(s);
    for (i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    free(s->pool);
    curl_multi_cleanup(s->multi);
    for (ln = s->lanes; ln; ln = nl) {
        nl = ln->next;
        free(ln);
    }
    free(s);
}
