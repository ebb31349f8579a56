/* Where the AWS providers get their credentials, region and endpoints, the
 * way the AWS SDKs do: credentials only from the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), never from
 * the catalog or the database, and never logged; region from the model's
 * setting or AWS_REGION (then AWS_DEFAULT_REGION); endpoint from the model's
 * --endpoint-url, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL,
 * then the public https://<host>.<region>.amazonaws.com. */
#ifndef AS_AWS_ENV_H
#define AS_AWS_ENV_H

#include <stddef.h>

#include "evaluator/providers/aws_sigv4.h"

typedef struct aws_creds {
    char *access_key;
    char *secret_key;       /* wiped on free */
    char *session_token;    /* NULL for long-term keys */
} aws_creds;

/* Read the key pair (and token) from the environment into *c (caller frees
 * with aws_creds_free). AS_EAUTH naming the missing variable, never its
 * value. */
int aws_creds_from_env(aws_creds *c);
void aws_creds_free(aws_creds *c);

/* The region: 'setting' if non-empty, else AWS_REGION, else
 * AWS_DEFAULT_REGION; returns a new string (caller frees) or NULL with
 * AS_EINVAL set when none is given or it is not a region-like token. */
char *aws_region(const char *setting);

/* AWS services the providers call. */
typedef enum aws_service {
    AWS_SAGEMAKER_RUNTIME,   /* signing name "sagemaker" */
    AWS_SAGEMAKER,           /* control plane (DescribeEndpoint), also "sagemaker" */
    AWS_BEDROCK_RUNTIME,     /* signing name "bedrock" */
    AWS_S3                   /* signing name "s3" */
} aws_service;

/* The endpoint base URL (scheme://host[:port][/base], no trailing slash) for
 * 'svc' in 'region': 'setting' (--endpoint-url) if non-empty, else
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME / _SAGEMAKER / _BEDROCK_RUNTIME / _S3, else
 * AWS_ENDPOINT_URL, else the public endpoint. *custom is set to 1 when the
 * URL came from a setting or variable (S3 then uses path-style addressing).
 * Returns a new string (caller frees) or NULL with AS_EINVAL set for a URL
 * that is not http(s). */
char *aws_endpoint(aws_service svc, const char *region, const char *setting, int *custom);

/* The SigV4 signing name of 'svc'. */
const char *aws_signing_name(aws_service svc);

/* A request ready to send: the URL and every header line ("Name: value"),
 * signature included. */
typedef struct aws_signed {
    char *url;
    char **headers;         /* n_headers "Name: value" strings */
    size_t n_headers;
} aws_signed;

/* Sign an HTTP request to 'url' (scheme://host[:port]/path?query, path
 * already percent-encoded as it will be sent) with 'body', adding Host,
 * X-Amz-Date, X-Amz-Security-Token (temporary credentials) and, for S3,
 * x-amz-content-sha256, then Authorization. 'extra' headers (e.g.
 * Content-Type) are signed and sent as given. 'now' is Unix time. The
 * caller frees *out with aws_signed_free, also on failure. */
int aws_sign_request(aws_signed *out, const char *method, const char *url,
                     const aws_header *extra, size_t n_extra, const void *body, size_t body_len,
                     const aws_creds *creds, const char *region, aws_service svc, long long now);
void aws_signed_free(aws_signed *s);

/* Split 'url' into scheme, authority (host[:port]), path ("/" when empty)
 * and query (after '?', "" when none): new strings, caller frees each.
 * AS_EINVAL for anything but http:// or https:// URLs. */
int aws_url_split(const char *url, char **scheme, char **authority, char **path, char **query);

#endif
