/* What the cloud providers (sagemaker, bedrock, anthropic) share on top of
 * the provider interface: SigV4 signing of a finished prov_request, the AWS
 * JSON error shape, a line splitter for byte streams and a capped output
 * accumulator. */
#ifndef AS_AWS_PROV_H
#define AS_AWS_PROV_H

#include <stddef.h>

#include "common/buf.h"
#include "evaluator/provider.h"
#include "evaluator/providers/aws_env.h"

/* Sign 'req' in place for 'svc': the signing headers of an earlier attempt
 * (Host, X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256,
 * Authorization) are dropped, every other header is signed, and the signing
 * headers are appended. 'now' is Unix time. */
int aws_prov_sign(prov_request *req, const aws_creds *creds, const char *region,
                  aws_service svc, long long now);

/* Fill 'res' with the error of a non-2xx AWS response: the error name from
 * header x-amzn-ErrorType (or the body's "__type"/"code"), the body's
 * "message"/"Message", and the retry decision: 429 and 5xx retried (with
 * the scheduler's backoff), ModelError 424 retried only when the container's
 * OriginalStatusCode was 429 or 5xx, other 4xx not. 'what' prefixes the
 * message ("sagemaker", "bedrock", "s3"). */
void aws_prov_http_error(prov_result *res, const char *what, const prov_response *resp);

/* Output text accumulated from a stream, capped at PROV_OUTPUT_MAX: the
 * excess is dropped on a UTF-8 boundary and 'truncated' set. */
typedef struct aws_text {
    as_buf buf;
    int truncated;
} aws_text;

void aws_text_init(aws_text *t);
int aws_text_append(aws_text *t, const char *s, size_t n);
void aws_text_free(aws_text *t);

/* Splits a byte stream into lines, whatever the split of the chunks
 * (SageMaker PayloadPart bytes): '\n' ends a line, a trailing '\r' is
 * dropped. A line over 'max' bytes fails with AS_ETOOBIG. */
typedef int (*aws_line_cb)(void *ctx, const char *line, size_t len);
typedef struct aws_lines {
    as_buf partial;
} aws_lines;

void aws_lines_init(aws_lines *l, size_t max);
int aws_lines_feed(aws_lines *l, const char *data, size_t len, aws_line_cb cb, void *ctx);
/* Deliver a last line left without '\n'. */
int aws_lines_finish(aws_lines *l, aws_line_cb cb, void *ctx);
void aws_lines_free(aws_lines *l);

/* A setting given as true/false or "true"/"false"/"1"/"0"/"yes"/"no" into
 * *out (untouched when absent); AS_EINVAL naming the key otherwise. */
int aws_setting_bool(const json_t *settings, const char *key, int *out);
/* A number given as a JSON number or a numeric string; AS_EINVAL otherwise. */
int aws_setting_num(const json_t *settings, const char *key, double *out);
/* AS_EINVAL naming the first key of 'settings' not in 'keys'. */
int aws_settings_check(const json_t *settings, const char *const *keys, const char *provider);

#endif
