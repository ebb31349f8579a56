/* Shared pieces of the cloud providers; see aws_prov.h. */
#include "evaluator/providers/aws_prov.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/json.h"

static int is_signing_header(const char *line)
{
    static const char *const names[] = {"host:", "x-amz-date:", "x-amz-security-token:",
                                        "x-amz-content-sha256:", "authorization:", NULL};
    size_t i;

    for (i = 0; names[i]; i++)
        if (strncasecmp(line, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

int aws_prov_sign(prov_request *req, const aws_creds *creds, const char *region,
                  aws_service svc, long long now)
{
    aws_header extra[32];
    char *copies[32];
    size_t n = 0, i;
    aws_signed s;
    int rc = 0;

    memset(&s, 0, sizeof(s));
    for (i = 0; i < req->nheaders; i++) {
        char *colon, *v;
        if (is_signing_header(req->headers[i]))
            continue;
        if (n == 32)
            return as_error_set(AS_EINVAL, "sigv4: more than 32 headers to sign");
        if ((copies[n] = strdup(req->headers[i])) == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            break;
        }
        colon = strchr(copies[n], ':');
        if (colon == NULL) {
            free(copies[n]);
            rc = as_error_set(AS_EINVAL, "sigv4: header '%.60s' has no value", req->headers[i]);
            break;
        }
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        extra[n].name = copies[n];
        extra[n].value = v;
        n++;
    }
    if (rc == 0)
        rc = aws_sign_request(&s, req->method, req->url, extra, n, req->body,
                              req->body ? req->body_len : 0, creds, region, svc, now);
    if (rc == 0) {
        /* replace the header list: the extra headers again, then signing ones */
        for (i = 0; i < req->nheaders; i++)
            free(req->headers[i]);
        req->nheaders = 0;
        for (i = 0; i < s.n_headers && rc == 0; i++)
            rc = prov_request_add_header(req, "%s", s.headers[i]);
    }
    aws_signed_free(&s);
    for (i = 0; i < n; i++)
        free(copies[i]);
    return rc;
}

/* The text of the first <tag>...</tag> of an S3 XML error into out. */
static int xml_tag(const char *body, const char *tag, char *out, size_t size)
{
    char open[32], close[32];
    const char *a, *b;
    size_t n;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if ((a = strstr(body, open)) == NULL)
        return 0;
    a += strlen(open);
    if ((b = strstr(a, close)) == NULL)
        return 0;
    n = (size_t)(b - a) < size - 1 ? (size_t)(b - a) : size - 1;
    memcpy(out, a, n);
    out[n] = '\0';
    return 1;
}

void aws_prov_http_error(prov_result *res, const char *what, const prov_response *resp)
{
    char xml_msg[256];
    char type[128] = "", *colon;
    json_t *root = NULL;
    const char *msg = NULL;
    int retry = PROV_RETRY_DEFAULT;
    long orig = 0;

    if (prov_header_get(resp->headers, "x-amzn-ErrorType", type, sizeof(type)) &&
        (colon = strchr(type, ':')) != NULL)
        *colon = '\0';      /* "ThrottlingException:http://internal..." */
    if (resp->body && resp->body_len > 0 &&
        as_json_parse(&root, resp->body, resp->body_len, "error body") == 0 &&
        json_is_object(root)) {
        json_t *m = json_object_get(root, "message");
        if (!json_is_string(m))
            m = json_object_get(root, "Message");
        msg = json_string_value(m);
        if (type[0] == '\0') {
            const char *t = json_string_value(json_object_get(root, "__type"));
            if (t == NULL)
                t = json_string_value(json_object_get(root, "code"));
            if (t) {
                const char *hash = strrchr(t, '#');   /* "com.amazon.coral#Throttling" */
                snprintf(type, sizeof(type), "%s", hash ? hash + 1 : t);
            }
        }
        if (json_is_integer(json_object_get(root, "OriginalStatusCode")))
            orig = (long)json_integer_value(json_object_get(root, "OriginalStatusCode"));
    }
    if (resp->status == 424) {
        /* ModelError: the container itself answered 4xx/5xx. Retry only
         * what the container would answer differently later. */
        retry = (orig == 429 || orig >= 500) ? PROV_RETRY_YES : PROV_RETRY_NO;
        prov_result_fail(res, AS_EUPSTREAM, retry,
                         "%s: HTTP 424 %s (original status %ld): %.300s", what,
                         type[0] ? type : "ModelError", orig, msg ? msg : "no message");
    } else {
        if (resp->status == 429 || resp->status >= 500)
            retry = PROV_RETRY_YES;
        else if (resp->status >= 400)
            retry = PROV_RETRY_NO;
        /* S3 answers XML; only its Code and Message are kept (the rest can
         * echo the canonical request, session token included) */
        if (msg == NULL && resp->body && resp->body[0] == '<') {
            if (type[0] == '\0')
                xml_tag(resp->body, "Code", type, sizeof(type));
            if (xml_tag(resp->body, "Message", xml_msg, sizeof(xml_msg)))
                msg = xml_msg;
        } else if (msg == NULL && resp->body && resp->body_len > 0 && root == NULL) {
            msg = resp->body;
        }
        prov_result_fail(res, AS_EUPSTREAM, retry, "%s: HTTP %ld %s: %.300s", what,
                         resp->status, type[0] ? type : "error", msg ? msg : "no message");
    }
    json_decref(root);
}

void aws_text_init(aws_text *t)
{
    as_buf_init(&t->buf, PROV_OUTPUT_MAX);
    t->truncated = 0;
}

int aws_text_append(aws_text *t, const char *s, size_t n)
{
    if (t->buf.len + n > PROV_OUTPUT_MAX) {
        t->truncated = 1;
        n = t->buf.len < PROV_OUTPUT_MAX ? PROV_OUTPUT_MAX - t->buf.len : 0;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;    /* never cut inside a UTF-8 sequence */
    }
    return n ? as_buf_append(&t->buf, s, n) : 0;
}

void aws_text_free(aws_text *t)
{
    as_buf_free(&t->buf);
}

void aws_lines_init(aws_lines *l, size_t max)
{
    as_buf_init(&l->partial, max ? max : PROV_BODY_MAX);
}

void aws_lines_free(aws_lines *l)
{
    as_buf_free(&l->partial);
}

static int emit(aws_lines *l, const char *s, size_t n, aws_line_cb cb, void *ctx)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    (void)l;
    return cb(ctx, s, n);
}

int aws_lines_feed(aws_lines *l, const char *data, size_t len, aws_line_cb cb, void *ctx)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        int rc;
        if (nl == NULL)
            return as_buf_append(&l->partial, data, n) < 0
                       ? as_error_set(AS_ETOOBIG, "stream: a line is over %zu bytes",
                                      l->partial.max)
                       : 0;
        if (l->partial.len > 0) {
            if (as_buf_append(&l->partial, data, n) < 0)
                return as_error_set(AS_ETOOBIG, "stream: a line is over %zu bytes",
                                    l->partial.max);
            rc = emit(l, l->partial.data, l->partial.len, cb, ctx);
            as_buf_reset(&l->partial);
        } else {
            rc = emit(l, data, n, cb, ctx);
        }
        if (rc != 0)
            return rc;
        data += n + 1;
        len -= n + 1;
    }
    return 0;
}

int aws_lines_finish(aws_lines *l, aws_line_cb cb, void *ctx)
{
    int rc = 0;

    if (l->partial.len > 0)
        rc = emit(l, l->partial.data, l->partial.len, cb, ctx);
    as_buf_reset(&l->partial);
    return rc;
}

int aws_setting_bool(const json_t *settings, const char *key, int *out)
{
    json_t *v = json_object_get(settings, key);
    const char *s;

    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    s = json_string_value(v);
    if (s && (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")))
        *out = 1;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")))
        *out = 0;
    else
        return as_error_set(AS_EINVAL, "setting %s: must be true or false", key);
    return 0;
}

int aws_setting_num(const json_t *settings, const char *key, double *out)
{
    json_t *v = json_object_get(settings, key);
    const char *s;
    char *end;
    double d;

    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    s = json_string_value(v);
    if (s == NULL || *s == '\0')
        return as_error_set(AS_EINVAL, "setting %s: must be a number", key);
    d = strtod(s, &end);
    if (*end != '\0')
        return as_error_set(AS_EINVAL, "setting %s: '%.40s' is not a number", key, s);
    *out = d;
    return 0;
}

int aws_settings_check(const json_t *settings, const char *const *keys, const char *provider)
{
    const char *key;
    json_t *v;

    if (!json_is_object(settings))
        return as_error_set(AS_EINVAL, "settings: must be an object");
    json_object_foreach((json_t *)settings, key, v) {
        size_t i;
        for (i = 0; keys[i]; i++)
            if (strcmp(keys[i], key) == 0)
                break;
        if (keys[i] == NULL)
            return as_error_set(AS_EINVAL, "setting %s: unknown to provider %s", key, provider);
    }
    return 0;
}
