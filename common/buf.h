/* A growable byte buffer with a hard cap: appending past 'max' fails with
 * AS_ETOOBIG instead of growing without bound. The data is always
 * NUL-terminated so it can be used as a C string. */
#ifndef AS_BUF_H
#define AS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct as_buf {
    char *data;     /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;     /* the most bytes 'data' may hold, excluding the NUL */
} as_buf;

#define AS_BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Start empty with a cap of 'max' bytes (0 means AS_BUF_DEFAULT_MAX). */
void as_buf_init(as_buf *b, size_t max);
int as_buf_append(as_buf *b, const void *data, size_t len);
int as_buf_puts(as_buf *b, const char *s);
int as_buf_putc(as_buf *b, char c);
int as_buf_printf(as_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int as_buf_vprintf(as_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Make room for 'extra' more bytes without changing len. */
int as_buf_reserve(as_buf *b, size_t extra);
/* Empty the buffer, keeping its memory. */
void as_buf_reset(as_buf *b);
/* Hand the data to the caller (who frees it with free()) and reset 'b'.
 * Never NULL: an empty buffer yields "". */
char *as_buf_detach(as_buf *b);
void as_buf_free(as_buf *b);

#endif
