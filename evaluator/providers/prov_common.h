/* What the HTTP model providers share beyond the provider interface:
 * completing token counts that a server did not report, and the per-call
 * state of a streamed answer (the text so far, the stream's own error, its
 * end marker, stop reason and token counts) with the code that turns it
 * into a prov_result, used by openai, anthropic, bedrock and sagemaker;
 * the first steps of a plain JSON answer (anthropic, bedrock); the
 * vectors of an embeddings answer (openai, ollama).
 * Internal to evaluator/providers; not a public header. */
#ifndef AS_PROV_COMMON_H
#define AS_PROV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "evaluator/provider.h"
#include "evaluator/providers/aws_prov.h"

/* Set res->prompt_tokens and res->completion_tokens to 'in' and 'out'; a
 * count below 0 (not reported) is estimated from call->prompt or from
 * res->output (so set the output first) and res->usage_estimated set. */
void pc_fill_tokens(prov_result *res, const prov_call *call, int64_t in, int64_t out);

/* The state of one streamed answer. Reset before every attempt: a retry
 * starts the stream over. */
typedef struct pc_stream {
    aws_text text;              /* output so far, capped at PROV_OUTPUT_MAX */
    int first_seen;             /* the first non-empty text was seen */
    int stopped;                /* the stream's own end marker was seen */
    char *stream_error;         /* an error the stream itself reported, or NULL */
    int stream_error_retry;     /* PROV_RETRY_* for stream_error */
    int64_t in_tokens, out_tokens;  /* reported counts, -1 until reported */
    char *stop_reason;          /* the reported stop/finish reason, or NULL */
} pc_stream;

/* Start empty: no text, no error, retry YES, counts -1. */
void pc_stream_init(pc_stream *s);
/* Free what 's' holds and start empty again. */
void pc_stream_reset(pc_stream *s);
/* Free what 's' holds (not 's' itself). */
void pc_stream_free(pc_stream *s);

/* Append a text delta; the first one sets *first_token (the caller answers
 * PROV_DATA_FIRST_TOKEN for that chunk). 0, or AS_ENOMEM. */
int pc_stream_text(pc_stream *s, const char *text, size_t n, int *first_token);
/* Replace the stop reason with a copy of 'reason'. */
void pc_stream_set_stop(pc_stream *s, const char *reason);

/* The answer of a finished stream into 'res': the text (truncated flag
 * included), the stop reason as finish_reason, the token counts (estimated
 * where missing). PROV_STEP_DONE, or AS_ENOMEM. */
int pc_stream_result(const pc_stream *s, const prov_call *call, prov_result *res);
/* As pc_stream_result, after failing 'res' when the stream reported an
 * error ("<what>: error in stream: ...", its own retry decision) or ended
 * without its end marker ("<what>: stream ended without <marker> (N bytes
 * of output)", retried). */
int pc_stream_finish(const pc_stream *s, const prov_call *call, prov_result *res,
                     const char *what, const char *marker);

/* The JSON of a complete (not streamed) answer into *root (caller
 * decrefs). When the body was cut at PROV_BODY_MAX ("<what>: response over
 * N bytes", not retried) or is not JSON ("<what>: response is not JSON:
 * ...", retried), 'res' is failed instead and AS_ETOOBIG or AS_EUPSTREAM
 * returned: the case is done. */
int pc_answer_json(json_t **root, const prov_response *resp, prov_result *res, const char *what);
/* The "text" of each block of the array 'content', joined, as res->output;
 * with 'type' set, only the blocks whose "type" is 'type'. Text past
 * PROV_BODY_MAX is left out. 0, or AS_ENOMEM. */
int pc_blocks_output(prov_result *res, const json_t *content, const char *type);

/* A copy of the base URL 'url' without trailing '/' into *out (caller
 * frees); AS_EINVAL "<what>: '<url>' is not an http(s) URL", or
 * AS_ENOMEM. */
int pc_base_url(char **out, const char *url, const char *what);

/* The longest embedding taken (the largest models give 4,096 or so). */
#define PC_EMBED_DIM_MAX 65536

/* One vector of an embeddings answer ('emb', a JSON array) into row 'row'
 * of res->vectors, allocated for 'nrows' rows at the first one, whose
 * length sets res->dim. 1 with *why set when it is not a non-empty array
 * of finite numbers of that length (the caller fails the call), 0, or
 * AS_ENOMEM. */
int pc_take_vector(prov_result *res, const json_t *emb, size_t row, size_t nrows,
                   const char **why);

#endif
