/* AWS Signature Version 4, written here rather than taken from libcurl's
 * CURLOPT_AWS_SIGV4: the libcurl of Debian 12 (7.88.1) signs the path
 * verbatim, so Bedrock model ids containing ':' (sent as %3A, signed by AWS
 * as %253A) fail. This signer builds the canonical request exactly:
 * double-encoded, normalised path for every service but S3, sorted and
 * encoded query, lower-cased sorted headers with trimmed values, payload hash.
 *
 * Pure computation: no I/O, no clock, no environment. Credentials and the
 * date are passed in; nothing here logs. */
#ifndef AS_AWS_SIGV4_H
#define AS_AWS_SIGV4_H

#include <stddef.h>

#include "common/buf.h"

/* One request header as it is sent. */
typedef struct aws_header {
    const char *name;
    const char *value;
} aws_header;

typedef struct aws_sigv4_input {
    const char *method;         /* "GET", "POST", "PUT" */
    const char *path;           /* the path as sent, percent-encoded; "" = "/" */
    const char *query;          /* the query as sent, without '?'; NULL = none */
    const aws_header *headers;  /* every header to sign, "host" included */
    size_t n_headers;
    const char *payload_hash;   /* lower-case hex SHA-256 of the body, or
                                   "UNSIGNED-PAYLOAD" */
    const char *region;         /* "us-east-1" */
    const char *service;        /* signing name: "sagemaker", "bedrock", "s3" */
    const char *amz_date;       /* "YYYYMMDDTHHMMSSZ" (UTC) */
    int s3;                     /* S3 rules: the path is signed as sent, once
                                   encoded and not normalised */
} aws_sigv4_input;

typedef struct aws_sigv4_output {
    char *canonical_request;    /* the intermediate strings, for tests and */
    char *string_to_sign;       /* --verbose debugging (they hold no secret) */
    char *signed_headers;       /* "host;x-amz-date" */
    char signature[65];         /* lower-case hex */
    char *authorization;        /* the whole Authorization header value */
} aws_sigv4_output;

/* Sign 'in' with the key pair into *out (caller frees with
 * aws_sigv4_output_free, also on failure). Returns AS_EINVAL for a malformed
 * date, method or header, AS_ETOOBIG for inputs over 1 MiB in total. */
int aws_sigv4_sign(aws_sigv4_output *out, const aws_sigv4_input *in,
                   const char *access_key, const char *secret_key);
void aws_sigv4_output_free(aws_sigv4_output *out);

/* Lower-case hex SHA-256 of 'len' bytes into 'hex' (65 bytes). */
void aws_sha256_hex(const void *data, size_t len, char hex[65]);

/* Append 'n' bytes of 's' to 'b' percent-encoded the SigV4 way (everything
 * but A-Z a-z 0-9 - _ . ~ as upper-case %XX; '/' kept when 'keep_slash').
 * Also how model ids and S3 keys are put into request paths. */
int aws_uri_encode(as_buf *b, const char *s, size_t n, int keep_slash);

/* Format the Unix time 't' as "YYYYMMDDTHHMMSSZ" into 'out' (17 bytes). */
void aws_amz_date(long long t, char out[17]);

#endif
