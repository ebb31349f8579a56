/* Helpers shared by the providers: request and result bookkeeping, header
 * lookup, settings and a local token estimate (declared in provider.h). */
#include "evaluator/provider.h"
#include "common/error.h"
#include "common/utf8.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void prov_request_clear(prov_request *req)
{
    size_t i;

    if (req == NULL)
        return;
    free(req->url);
    for (i = 0; i < req->nheaders; i++)
        free(req->headers[i]);
    free(req->headers);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

int prov_request_set_url(prov_request *req, const char *url)
{
    char *u = strdup(url);

    if (u == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    free(req->url);
    req->url = u;
    return 0;
}

int prov_request_add_header(prov_request *req, const char *fmt, ...)
{
    va_list ap;
    char *h = NULL, **grown;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&h, fmt, ap);
    va_end(ap);
    if (n < 0)
        return as_error_set(AS_ENOMEM, "out of memory");
    grown = realloc(req->headers, (req->nheaders + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(h);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    req->headers = grown;
    req->headers[req->nheaders++] = h;
    return 0;
}

void prov_request_take_body(prov_request *req, char *body, size_t len)
{
    free(req->body);
    req->body = body;
    req->body_len = len;
}

void prov_result_init(prov_result *res)
{
    memset(res, 0, sizeof(*res));
    res->prompt_tokens = -1;
    res->completion_tokens = -1;
    res->latency_ms = -1;
    res->ttft_ms = -1;
    res->busy_ms = -1;
    res->cold_start_ms = -1;
    res->server_latency_ms = -1;
    res->retry_after_s = -1;
}

void prov_result_clear(prov_result *res)
{
    if (res == NULL)
        return;
    free(res->output);
    free(res->finish_reason);
    free(res->error_msg);
    free(res->vectors);
    prov_result_init(res);
}

void prov_result_fail(prov_result *res, int code, int retry, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    /* Quotes of a server's answer: stored, shown and sent as JSON. */
    if (msg)
        as_utf8_one_line(msg, 500);
    free(res->error_msg);
    free(res->output);
    free(res->vectors);
    res->output = NULL;
    res->output_len = 0;
    res->vectors = NULL;
    res->nvectors = res->dim = 0;
    res->error_msg = msg;
    res->error = code;
    res->retry = retry;
}

int prov_result_set_output(prov_result *res, const char *s, size_t len)
{
    char *o;

    if (len > PROV_OUTPUT_MAX) {
        len = PROV_OUTPUT_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;      /* do not cut a UTF-8 sequence */
        res->output_truncated = 1;
    }
    if ((o = malloc(len + 1)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    memcpy(o, s, len);
    o[len] = '\0';
    free(res->output);
    res->output = o;
    res->output_len = len;
    return 0;
}

int prov_header_value_check(const char *v, const char *what)
{
    size_t n = 0;

    for (; v && *v; v++, n++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
            return as_error_set(AS_EINVAL, "%s: only printable ASCII can go into a header", what);
    if (n > 1024)
        return as_error_set(AS_EINVAL, "%s: longer than 1024 bytes", what);
    return 0;
}

int prov_header_get(const char *headers, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *line = headers;

    if (headers == NULL || size == 0)
        return 0;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *ve = line + llen;
            size_t n;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && isspace((unsigned char)ve[-1]))
                ve--;
            n = (size_t)(ve - v);
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        if (end == NULL)
            break;
        line = end + 1;
    }
    return 0;
}

int prov_setting_str(const json_t *settings, const char *key, const char *dflt,
                     const char **out)
{
    json_t *v = settings ? json_object_get(settings, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_string(v))
        return as_error_set(AS_EINVAL, "setting %s: must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int64_t prov_estimate_tokens(const char *s, size_t len)
{
    int64_t pieces = 0;
    size_t i = 0;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c)) {
            i++;
        } else if (isalnum(c) || c >= 0x80) {
            while (i < len && (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80))
                i++;
            pieces++;
        } else {
            i++;
            pieces++;
        }
    }
    return pieces > (int64_t)(len / 4) ? pieces : (int64_t)(len / 4);
}
