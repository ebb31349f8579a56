/* The provider interface: the one C interface every model provider
 * implements (openai, sagemaker, bedrock, anthropic, local, baseline,
 * replay). The run scheduler (evaluator/scheduler.c) drives every provider
 * through it and knows nothing of any wire format.
 *
 * Two ways to answer a call:
 *
 *  - HTTP providers fill 'build_request' and 'parse_response' (and
 *    'on_data' when they stream). The scheduler sends the request on its one
 *    libcurl multi handle, on one thread, next to hundreds of others; it owns
 *    timeouts, stalled-stream detection, retries with backoff, rate limits
 *    and the recording of every attempt. A provider never touches libcurl.
 *
 *  - Direct providers (baseline, replay) fill 'invoke', which answers a
 *    batch of calls synchronously; the scheduler hands it up to the model's
 *    concurrency limit of calls at once and runs it on a worker thread of
 *    the lane, one batch at a time, so the HTTP requests of the same run go
 *    on meanwhile.
 *
 *  - Streaming providers (the local engine) fill 'serve', which runs on a
 *    worker thread of the lane for the whole run: it takes calls from a
 *    feed as it has room for them (up to the model's concurrency limit are
 *    queued) and gives each answer back as soon as it is ready, so a
 *    continuous-batching engine admits new cases as others finish and the
 *    run records every answer when it comes.
 *
 * Life of one case on an HTTP provider:
 *
 *    state = NULL
 *    begin(p, call, &state)                      optional, per-case state
 *    loop:
 *      build_request(p, call, state, &req)       method, URL, headers, body
 *      sign(p, state, &req)                      optional, over the final bytes,
 *                                                called again before each retry
 *      send; while bytes arrive and req.stream:  on_data(p, state, bytes)
 *      parse_response(p, call, state, &resp, &res)
 *        -> PROV_STEP_DONE: res is the answer (or the error) of this case
 *        -> PROV_STEP_NEXT: a follow-up request (SageMaker async: upload to
 *           S3, invoke, then poll the output location); the scheduler waits
 *           res.next_delay_ms, then calls build_request again with the same
 *           state. The provider keeps the step it is at in its state.
 *      on a retryable error the scheduler waits (backoff) and calls
 *      build_request again with the same state: it must rebuild the same
 *      step (and reset whatever on_data accumulated).
 *    state_free(state)
 *
 * Threads: one provider instance is used by one thread at a time: the
 * scheduler's, except 'invoke' and 'serve', which run on the lane's worker
 * thread while nothing else touches the instance ('start' happened before on
 * another thread). Secrets: read from the environment in 'start' (the names
 * come from the model settings, e.g. "api_key_env"), kept in memory only,
 * never written to the database, the cache, a log or an error message. */
#ifndef AS_EVAL_PROVIDER_H
#define AS_EVAL_PROVIDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what comes back from outside. */
#define PROV_BODY_MAX ((size_t)32 << 20)    /* a response body (non-streamed) */
#define PROV_OUTPUT_MAX ((size_t)1 << 20)   /* an output text; longer is cut and flagged */
#define PROV_HEADERS_MAX ((size_t)64 << 10) /* all response headers together */

typedef struct prov prov;               /* one configured model of a provider */
typedef struct prov_vtable prov_vtable;
typedef struct prov_feed prov_feed;    /* a streaming provider's calls */

/* Run-wide facts a provider may need, given to 'start'. All borrowed for
 * the life of the run. */
typedef struct prov_run_info {
    const char *model_name;         /* the assay model name */
    const char *const *labels;      /* the prompt's classification labels, or NULL */
    size_t nlabels;
    const char *majority_label;     /* most frequent expected answer of the
                                       dataset (for baseline majority), or NULL */
    const char *task;               /* prompt task: classification, summarization, ... */
    int concurrency;                /* the model's concurrency limit: calls at once */
} prov_run_info;

/* One call: a rendered prompt for one case. All fields borrowed for the
 * duration of the call (until state_free for HTTP providers). */
typedef struct prov_call {
    const char *case_id;
    const json_t *messages;  /* [{"role","content"}...] for chat prompts, else NULL */
    const char *prompt;      /* the prompt as one text: the template rendered, or
                                the messages joined (for completion APIs); never NULL */
    const json_t *params;    /* generation params: the prompt's "params" overlaid
                                with the model's; an object, possibly empty */
    const json_t *vars;      /* the case's variables (an object), for baselines */
    int attempt;             /* 0 for the first attempt, then 1, 2, ... */
    /* An embedding call (only to providers whose vtable sets 'embeds'):
     * embed these texts instead of generating; 'prompt' then holds them
     * joined, for token estimates. NULL for a generation call. */
    const char *const *embed_inputs;
    size_t nembed;
} prov_call;

/* A request for the scheduler to send. build_request fills it; the
 * scheduler frees it with prov_request_clear. */
typedef struct prov_request {
    char method[8];          /* "POST", "GET", "PUT" */
    char *url;               /* malloc'd */
    char **headers;          /* malloc'd "Name: value" strings; no valueless headers */
    size_t nheaders;
    char *body;              /* malloc'd, may be NULL (no body) */
    size_t body_len;
    int stream;              /* 1: feed body bytes to on_data as they arrive */
    double timeout_s;        /* 0: the model's timeout */
} prov_request;

/* What came back over HTTP, given to parse_response (all borrowed). */
typedef struct prov_response {
    long status;             /* HTTP status */
    const char *headers;     /* the raw header block, NUL-terminated; use prov_header_get */
    const char *body;        /* the body when not streamed (or when the status was
                                not 2xx: error bodies are always buffered); NUL-terminated */
    size_t body_len;
    int body_truncated;      /* the body went over PROV_BODY_MAX and was cut */
    int stream_complete;     /* streamed: the transfer ended normally (the
                                provider still checks for its own terminator) */
} prov_response;

/* How an error should be treated. */
enum {
    PROV_RETRY_DEFAULT = 0,  /* the scheduler decides from the status: retry on
                                connection errors, timeouts, 408, 409, 429, 5xx */
    PROV_RETRY_YES = 1,
    PROV_RETRY_NO = 2        /* e.g. 429 insufficient_quota, 4xx validation */
};

/* The answer to one call (or its error). Providers fill it; the scheduler
 * owns it and frees it with prov_result_clear. Numbers that are unknown
 * are -1. */
typedef struct prov_result {
    char *output;            /* malloc'd UTF-8 output text; NULL on error */
    size_t output_len;
    int output_truncated;    /* the output went over PROV_OUTPUT_MAX and was cut */
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int usage_estimated;     /* tokens were counted locally, not reported */
    double latency_ms;       /* direct providers: the measured (replay: recorded)
                                latency; HTTP: the scheduler measures it unless a
                                multi-step provider sets it (SageMaker async) */
    double ttft_ms;          /* direct providers only; HTTP: see on_data */
    double busy_ms;          /* device time the call used (local engine GPU time), or -1 */
    double cold_start_ms;    /* SageMaker async: the part of latency_ms spent waiting for
                                an endpoint scaled to zero to start (from this call's
                                invocation to the endpoint's first answer of the run);
                                0 when the call met a running endpoint; -1 when the
                                provider cannot tell (every other provider) */
    double server_latency_ms; /* the latency the server reported for the call
                                (Bedrock's metrics.latencyMs), or -1 */
    char *finish_reason;     /* malloc'd, or NULL */
    /* error */
    int error;               /* 0, or an AS_E* code (AS_EUPSTREAM, AS_ETIMEOUT, ...) */
    char *error_msg;         /* malloc'd one line, no secrets */
    int retry;               /* PROV_RETRY_* */
    double retry_after_s;    /* server-asked delay, or -1 */
    /* multi-step */
    double next_delay_ms;    /* with PROV_STEP_NEXT: wait before the next step */
    /* embedding calls: nvectors (= the call's nembed) vectors of dim
     * numbers each, row after row, in the order of the inputs; malloc'd */
    double *vectors;
    size_t nvectors, dim;
} prov_result;

enum { PROV_STEP_DONE = 0, PROV_STEP_NEXT = 1 };

/* What on_data reports back. */
enum {
    PROV_DATA_MORE = 0,      /* nothing special */
    PROV_DATA_FIRST_TOKEN = 1 /* this chunk held the first non-empty output token:
                                 the scheduler stamps the time to first token */
};

struct prov_vtable {
    const char *name;        /* "openai" */
    const char *summary;     /* one line for `assay model add --help` */
    /* The settings keys the provider accepts, NULL-terminated, for the CLI's
     * --KEY VALUE options ("base_url" is given as --base-url). */
    const char *const *settings_keys;
    /* Those of them that name a file or folder on this machine, NULL-
     * terminated (or NULL): `assay model add` stores them as absolute paths,
     * so that runs started from any folder (or by the server) find them. */
    const char *const *path_keys;
    /* 1 when the provider answers embedding calls (prov_call.embed_inputs)
     * and so can serve the cosine_embedding metric. */
    int embeds;

    /* Validate 'settings' (a JSON object; borrowed) and make an instance in
     * *out. Must not read secrets or touch the network: `assay model add`
     * calls it to check settings. AS_EINVAL names the bad setting. */
    int (*create)(prov **out, const char *model_name, const json_t *settings);
    /* Before the first request of a run: read secrets from the environment
     * (a missing variable is AS_EAUTH naming the variable, never its value),
     * load files (replay), take run facts. May be NULL. */
    int (*start)(prov *p, const prov_run_info *info);
    /* Free the instance (NULL allowed). */
    void (*destroy)(prov *p);

    /* --- HTTP providers --- */
    /* Per-case state (may be NULL: state stays NULL). */
    int (*begin)(prov *p, const prov_call *call, void **state);
    int (*build_request)(prov *p, const prov_call *call, void *state, prov_request *req);
    /* Optional: add signature headers computed over req's final method, URL,
     * headers and body (SigV4). Called right before each send. */
    int (*sign)(prov *p, void *state, prov_request *req);
    /* Streamed bytes, split anywhere (buffer partial lines/frames).
     * Returns PROV_DATA_*, or a negative AS_E* code to abort the transfer
     * (the error is then recorded and handled like a failed attempt). */
    int (*on_data)(prov *p, void *state, const char *data, size_t len);
    /* Turn the response into *res; return PROV_STEP_DONE or PROV_STEP_NEXT.
     * Errors are reported in res->error (the return value stays >= 0);
     * a negative return is an internal failure of assay. */
    int (*parse_response)(prov *p, const prov_call *call, void *state,
                          const prov_response *resp, prov_result *res);
    void (*state_free)(void *state);

    /* --- direct providers --- */
    /* Answer 'n' calls into res[0..n) (zeroed by the caller, numbers preset
     * to -1). A per-call failure goes into res[i].error; a negative return
     * fails every call of the batch. */
    int (*invoke)(prov *p, const prov_call *calls, size_t n, prov_result *res);

    /* --- streaming providers --- */
    /* Answer the feed's calls (prov_feed_take / prov_feed_give) until it
     * says PROV_FEED_END or canceled, then return 0. A negative return
     * fails every call taken and not answered. */
    int (*serve)(prov *p, prov_feed *feed);
};

/* --- the feed of a streaming provider (evaluator/providers/feed.c) --- */

enum { PROV_FEED_NONE = 0, PROV_FEED_CALL = 1, PROV_FEED_END = 2 };

/* The next call: PROV_FEED_CALL with *call and *tag set (the call stays
 * valid until its answer is given); PROV_FEED_NONE when none is queued now
 * (with 'wait', only after waiting for one); PROV_FEED_END when no call
 * will come again; AS_ECANCELED when the run was canceled (answer nothing
 * more and return). */
int prov_feed_take(prov_feed *f, int wait, const prov_call **call, void **tag);
/* The answer to the call of 'tag': the feed takes res's contents (and
 * leaves *res empty). */
void prov_feed_give(prov_feed *f, void *tag, prov_result *res);
/* 1 once the run was canceled: stop at the next chance (calls still held
 * need no answer). */
int prov_feed_canceled(prov_feed *f);

/* Every instance starts with this header so the scheduler can find its
 * vtable: `struct my_prov { prov base; ... };` and prov_init(&me->base, &vt). */
struct prov {
    const prov_vtable *vt;
};

/* --- the registry (evaluator/providers/registry.c) --- */

/* The vtable of provider 'name', or NULL. */
const prov_vtable *prov_find(const char *name);
/* The registered vtables, NULL-terminated. */
const prov_vtable *const *prov_all(void);
/* Look up 'provider' and create an instance (AS_ENOTFOUND for an unknown
 * provider, naming it). Caller frees with prov_destroy. */
int prov_create(prov **out, const char *provider, const char *model_name,
                const json_t *settings);
void prov_destroy(prov *p);
/* 1 when a provider answers calls itself, without HTTP ('invoke' or
 * 'serve'). */
int prov_is_direct(const prov *p);

/* --- helpers for provider writers (evaluator/providers/util.c) --- */

void prov_request_clear(prov_request *req);
/* Set req->url (copied) / append one header "Name: value" (formatted). */
int prov_request_set_url(prov_request *req, const char *url);
int prov_request_add_header(prov_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Take 'body' (malloc'd) as the request body. */
void prov_request_take_body(prov_request *req, char *body, size_t len);

/* A result with every number at -1 and everything else empty. */
void prov_result_init(prov_result *res);
void prov_result_clear(prov_result *res);
/* Set res->error, res->error_msg (formatted, one line) and res->retry. */
void prov_result_fail(prov_result *res, int code, int retry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Set the output to a copy of s[0..len), cut at PROV_OUTPUT_MAX on a UTF-8
 * boundary (flagging output_truncated). */
int prov_result_set_output(prov_result *res, const char *s, size_t len);

/* 0 when 'v' can be sent as an HTTP header value (printable ASCII, at
 * most 1024 bytes), else AS_EINVAL naming 'what' (never echoing 'v': it may
 * be a secret). */
int prov_header_value_check(const char *v, const char *what);
/* The value of response header 'name' (case-insensitive) copied into out
 * (trimmed, NUL-terminated, cut to size); 1 if found, else 0. */
int prov_header_get(const char *headers, const char *name, char *out, size_t size);
/* Read setting 'key' of 'settings' as a string (borrowed), with the
 * provider's default when absent; AS_EINVAL when it is not a string. */
int prov_setting_str(const json_t *settings, const char *key, const char *dflt,
                     const char **out);
/* A local estimate of the tokens in a text, for servers that report no
 * usage (then usage_estimated is set): about one token per 4 bytes of
 * text, at least one per word or punctuation mark. */
int64_t prov_estimate_tokens(const char *s, size_t len);

/* --- Server-Sent Events framing (evaluator/providers/sse.c) ---
 * Feed arbitrary splits of a text/event-stream; the callback gets each
 * complete event (data lines joined with '\n'; 'event' may be "").
 * Comment lines are skipped; CRLF is accepted; one space after ':' is
 * stripped. Lines over 'max' bytes fail with AS_ETOOBIG. */
typedef int (*prov_sse_cb)(void *arg, const char *event, const char *data, size_t len);
typedef struct prov_sse {
    char *line;              /* the partial line */
    size_t line_len, line_cap;
    char *data;              /* the data of the event being read */
    size_t data_len, data_cap;
    char event[64];
    int has_data;
    size_t max;
} prov_sse;

void prov_sse_init(prov_sse *s, size_t max);
/* Returns 0, the callback's negative code, or AS_ETOOBIG. A callback
 * returning > 0 stops the feed (e.g. after [DONE]) and is returned. */
int prov_sse_feed(prov_sse *s, const char *data, size_t len, prov_sse_cb cb, void *arg);
/* Deliver an event left without its closing blank line (end of stream). */
int prov_sse_finish(prov_sse *s, prov_sse_cb cb, void *arg);
void prov_sse_free(prov_sse *s);

#endif
