/* AWS credentials, region, endpoints and request signing; see aws_env.h. */
#include "evaluator/providers/aws_env.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"

#define AWS_VAR_MAX 4096     /* longest credential or URL we accept */

/* A copy of the variable's value when set and non-empty; NULL otherwise.
 * Over-long values are refused rather than cut. */
static char *env_dup(const char *name, int *too_long)
{
    const char *v = getenv(name);

    if (v == NULL || *v == '\0')
        return NULL;
    if (strlen(v) > AWS_VAR_MAX) {
        *too_long = 1;
        return NULL;
    }
    return strdup(v);
}

void aws_creds_free(aws_creds *c)
{
    if (c == NULL)
        return;
    if (c->secret_key)
        memset(c->secret_key, 0, strlen(c->secret_key));
    if (c->session_token)
        memset(c->session_token, 0, strlen(c->session_token));
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    memset(c, 0, sizeof(*c));
}

int aws_creds_from_env(aws_creds *c)
{
    int too_long = 0;

    memset(c, 0, sizeof(*c));
    c->access_key = env_dup("AWS_ACCESS_KEY_ID", &too_long);
    if (c->access_key == NULL)
        return as_error_set(AS_EAUTH, "AWS_ACCESS_KEY_ID is %s", too_long ? "too long" : "not set");
    c->secret_key = env_dup("AWS_SECRET_ACCESS_KEY", &too_long);
    if (c->secret_key == NULL) {
        aws_creds_free(c);
        return as_error_set(AS_EAUTH, "AWS_SECRET_ACCESS_KEY is %s",
                            too_long ? "too long" : "not set");
    }
    c->session_token = env_dup("AWS_SESSION_TOKEN", &too_long);
    if (too_long) {
        aws_creds_free(c);
        return as_error_set(AS_EAUTH, "AWS_SESSION_TOKEN is too long");
    }
    return 0;
}

static int region_ok(const char *r)
{
    size_t n = 0;

    for (; *r; r++, n++)
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
            return 0;
    return n > 0 && n <= 64;
}

char *aws_region(const char *setting)
{
    const char *r = setting;
    char *out;

    if (r == NULL || *r == '\0')
        r = getenv("AWS_REGION");
    if (r == NULL || *r == '\0')
        r = getenv("AWS_DEFAULT_REGION");
    if (r == NULL || *r == '\0') {
        as_error_set(AS_EINVAL, "no AWS region: give --region or set AWS_REGION");
        return NULL;
    }
    if (!region_ok(r)) {
        as_error_set(AS_EINVAL, "AWS region '%.64s' is not like 'us-east-1'", r);
        return NULL;
    }
    out = strdup(r);
    if (out == NULL)
        as_error_set(AS_ENOMEM, "out of memory");
    return out;
}

const char *aws_signing_name(aws_service svc)
{
    switch (svc) {
    case AWS_SAGEMAKER_RUNTIME: return "sagemaker";
    case AWS_SAGEMAKER: return "sagemaker";
    case AWS_BEDROCK_RUNTIME: return "bedrock";
    case AWS_S3: return "s3";
    }
    return "";
}

static const char *endpoint_var(aws_service svc)
{
    switch (svc) {
    case AWS_SAGEMAKER_RUNTIME: return "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME";
    case AWS_SAGEMAKER: return "AWS_ENDPOINT_URL_SAGEMAKER";
    case AWS_BEDROCK_RUNTIME: return "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";
    case AWS_S3: return "AWS_ENDPOINT_URL_S3";
    }
    return "";
}

static const char *public_host(aws_service svc)
{
    switch (svc) {
    case AWS_SAGEMAKER_RUNTIME: return "runtime.sagemaker";
    case AWS_SAGEMAKER: return "api.sagemaker";
    case AWS_BEDROCK_RUNTIME: return "bedrock-runtime";
    case AWS_S3: return "s3";
    }
    return "";
}

char *aws_endpoint(aws_service svc, const char *region, const char *setting, int *custom)
{
    const char *u = setting;
    as_buf b;
    size_t n;

    *custom = 1;
    if (u == NULL || *u == '\0')
        u = getenv(endpoint_var(svc));
    if (u == NULL || *u == '\0')
        u = getenv("AWS_ENDPOINT_URL");
    if (u == NULL || *u == '\0') {
        *custom = 0;
        as_buf_init(&b, AWS_VAR_MAX);
        if (as_buf_printf(&b, "https://%s.%s.amazonaws.com", public_host(svc), region) < 0) {
            as_buf_free(&b);
            return NULL;
        }
        return as_buf_detach(&b);
    }
    n = strlen(u);
    if (n > AWS_VAR_MAX || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
        strchr(u, '?') != NULL || strchr(u, '#') != NULL) {
        as_error_set(AS_EINVAL, "endpoint URL '%.200s' is not an http(s) URL without query", u);
        return NULL;
    }
    while (n > 0 && u[n - 1] == '/')
        n--;
    return strndup(u, n);
}

int aws_url_split(const char *url, char **scheme, char **authority, char **path, char **query)
{
    const char *p, *a, *q;
    size_t sl;

    *scheme = *authority = *path = *query = NULL;
    if (strncmp(url, "http://", 7) == 0)
        sl = 4;
    else if (strncmp(url, "https://", 8) == 0)
        sl = 5;
    else
        return as_error_set(AS_EINVAL, "URL '%.200s' is not http(s)", url);
    a = url + sl + 3;
    p = a + strcspn(a, "/?");
    if (p == a)
        return as_error_set(AS_EINVAL, "URL '%.200s' has no host", url);
    q = strchr(p, '?');
    *scheme = strndup(url, sl);
    *authority = strndup(a, (size_t)(p - a));
    if (*p == '/')
        *path = strndup(p, q ? (size_t)(q - p) : strlen(p));
    else
        *path = strdup("/");
    *query = strdup(q ? q + 1 : "");
    if (!*scheme || !*authority || !*path || !*query) {
        free(*scheme);
        free(*authority);
        free(*path);
        free(*query);
        *scheme = *authority = *path = *query = NULL;
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    return 0;
}

void aws_signed_free(aws_signed *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n_headers; i++) {
        /* the token and signature lines are credentials-derived */
        memset(s->headers[i], 0, strlen(s->headers[i]));
        free(s->headers[i]);
    }
    free(s->headers);
    free(s->url);
    memset(s, 0, sizeof(*s));
}

/* Append "name: value" to s->headers. */
static int add_line(aws_signed *s, const char *name, const char *value)
{
    as_buf b;
    char **h;

    h = realloc(s->headers, (s->n_headers + 1) * sizeof(*h));
    if (h == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->headers = h;
    as_buf_init(&b, 2 * AWS_VAR_MAX + 256);
    if (as_buf_printf(&b, "%s: %s", name, value) < 0) {
        as_buf_free(&b);
        return AS_ETOOBIG;
    }
    s->headers[s->n_headers++] = as_buf_detach(&b);
    return 0;
}

/* The Host header value curl sends for this authority: the port is dropped
 * when it is the scheme's default. */
static char *host_value(const char *scheme, const char *authority)
{
    const char *at = strrchr(authority, '@');
    const char *h = at ? at + 1 : authority;
    size_t n = strlen(h);

    if (strcmp(scheme, "http") == 0 && n > 3 && strcmp(h + n - 3, ":80") == 0)
        n -= 3;
    else if (strcmp(scheme, "https") == 0 && n > 4 && strcmp(h + n - 4, ":443") == 0)
        n -= 4;
    return strndup(h, n);
}

int aws_sign_request(aws_signed *out, const char *method, const char *url,
                     const aws_header *extra, size_t n_extra, const void *body, size_t body_len,
                     const aws_creds *creds, const char *region, aws_service svc, long long now)
{
    char *scheme = NULL, *auth = NULL, *path = NULL, *query = NULL, *host = NULL;
    char date[17], hash[65];
    aws_header hs[40];
    size_t n = 0, i;
    aws_sigv4_output sig;
    aws_sigv4_input in;
    int rc, s3 = svc == AWS_S3;

    memset(out, 0, sizeof(*out));
    memset(&sig, 0, sizeof(sig));
    if (n_extra > 32)
        return as_error_set(AS_EINVAL, "sigv4: more than 32 extra headers");
    if ((rc = aws_url_split(url, &scheme, &auth, &path, &query)) < 0)
        return rc;
    host = host_value(scheme, auth);
    out->url = strdup(url);
    if (host == NULL || out->url == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    aws_amz_date(now, date);
    aws_sha256_hex(body ? body : "", body ? body_len : 0, hash);
    hs[n++] = (aws_header){"Host", host};
    hs[n++] = (aws_header){"X-Amz-Date", date};
    if (creds->session_token)
        hs[n++] = (aws_header){"X-Amz-Security-Token", creds->session_token};
    if (s3)
        hs[n++] = (aws_header){"x-amz-content-sha256", hash};
    for (i = 0; i < n_extra; i++)
        hs[n++] = extra[i];

    memset(&in, 0, sizeof(in));
    in.method = method;
    in.path = path;
    in.query = query;
    in.headers = hs;
    in.n_headers = n;
    in.payload_hash = hash;
    in.region = region;
    in.service = aws_signing_name(svc);
    in.amz_date = date;
    in.s3 = s3;
    if ((rc = aws_sigv4_sign(&sig, &in, creds->access_key, creds->secret_key)) < 0)
        goto out;
    for (i = 0; i < n && rc == 0; i++)
        rc = add_line(out, hs[i].name, hs[i].value);
    if (rc == 0)
        rc = add_line(out, "Authorization", sig.authorization);
out:
    aws_sigv4_output_free(&sig);
    free(scheme);
    free(auth);
    free(path);
    free(query);
    free(host);
    return rc;
}
