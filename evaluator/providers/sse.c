/* Server-Sent Events framing (text/event-stream), shared by the providers
 * that stream over SSE (openai, anthropic). Bytes arrive split anywhere, so
 * the partial line is buffered; events end at a blank line. */
#include "evaluator/provider.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void prov_sse_init(prov_sse *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->max = max ? max : PROV_BODY_MAX;
}

void prov_sse_free(prov_sse *s)
{
    free(s->line);
    free(s->data);
    memset(s, 0, sizeof(*s));
}

static int grow(char **p, size_t *cap, size_t need, size_t max)
{
    size_t n;
    char *q;

    if (need + 1 <= *cap)
        return 0;
    if (need > max)
        return as_error_set(AS_ETOOBIG, "event stream: an event is over %zu bytes", max);
    n = *cap ? *cap : 256;
    while (n < need + 1)
        n *= 2;
    if ((q = realloc(*p, n)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    *p = q;
    *cap = n;
    return 0;
}

static int dispatch(prov_sse *s, prov_sse_cb cb, void *arg)
{
    int rc = 0;

    if (s->has_data) {
        s->data[s->data_len] = '\0';
        rc = cb(arg, s->event, s->data, s->data_len);
    }
    s->has_data = 0;
    s->data_len = 0;
    s->event[0] = '\0';
    return rc;
}

/* One complete line (without its end of line). */
static int take_line(prov_sse *s, const char *line, size_t len, prov_sse_cb cb, void *arg)
{
    const char *colon, *val;
    size_t flen, vlen;
    int rc;

    if (len == 0)
        return dispatch(s, cb, arg);
    if (line[0] == ':')
        return 0;   /* comment / keep-alive */
    colon = memchr(line, ':', len);
    flen = colon ? (size_t)(colon - line) : len;
    val = colon ? colon + 1 : line + len;
    vlen = (size_t)(line + len - val);
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        size_t need = s->data_len + vlen + (s->has_data ? 1 : 0);
        if ((rc = grow(&s->data, &s->data_cap, need, s->max)) < 0)
            return rc;
        if (s->has_data)
            s->data[s->data_len++] = '\n';
        memcpy(s->data + s->data_len, val, vlen);
        s->data_len += vlen;
        s->has_data = 1;
    } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
        if (vlen >= sizeof(s->event))
            vlen = sizeof(s->event) - 1;
        memcpy(s->event, val, vlen);
        s->event[vlen] = '\0';
    }
    return 0;   /* id, retry and unknown fields are ignored */
}

int prov_sse_feed(prov_sse *s, const char *data, size_t len, prov_sse_cb cb, void *arg)
{
    size_t i = 0;
    int rc;

    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
        if ((rc = grow(&s->line, &s->line_cap, s->line_len + chunk, s->max)) < 0)
            return rc;
        memcpy(s->line + s->line_len, data + i, chunk);
        s->line_len += chunk;
        i += chunk;
        if (nl == NULL)
            break;
        i++;    /* the '\n' */
        if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
            s->line_len--;
        rc = take_line(s, s->line, s->line_len, cb, arg);
        s->line_len = 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}

int prov_sse_finish(prov_sse *s, prov_sse_cb cb, void *arg)
{
    int rc = 0;

    if (s->line_len > 0) {
        if (s->line[s->line_len - 1] == '\r')
            s->line_len--;
        rc = take_line(s, s->line, s->line_len, cb, arg);
        s->line_len = 0;
        if (rc != 0)
            return rc;
    }
    return dispatch(s, cb, arg);
}
