/* Capped growable buffer; see buf.h. */
#include "common/buf.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void as_buf_init(as_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : AS_BUF_DEFAULT_MAX;
}

int as_buf_reserve(as_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return as_error_set(AS_ETOOBIG, "buffer over its limit of %zu bytes", b->max);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    if ((p = realloc(b->data, cap)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int as_buf_append(as_buf *b, const void *data, size_t len)
{
    int rc;

    if ((rc = as_buf_reserve(b, len)) < 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int as_buf_puts(as_buf *b, const char *s)
{
    return as_buf_append(b, s, strlen(s));
}

int as_buf_putc(as_buf *b, char c)
{
    return as_buf_append(b, &c, 1);
}

int as_buf_vprintf(as_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, rc;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return as_error_set(AS_ERROR, "bad format string");
    if ((rc = as_buf_reserve(b, (size_t)n)) < 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int as_buf_printf(as_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = as_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void as_buf_reset(as_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *as_buf_detach(as_buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void as_buf_free(as_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
