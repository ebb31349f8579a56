/* AWS event-stream decoder; see aws_evstream.h. */
#include "evaluator/providers/aws_evstream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define EV_PRELUDE 12
#define EV_DEFAULT_MAX ((size_t)24 * 1024 * 1024 + 128 * 1024 + 16)

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    uint32_t i, j, c;

    for (i = 0; i < 256; i++) {
        c = i;
        for (j = 0; j < 8; j++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t aws_crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    for (i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be_int(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    /* sign-extend the n-byte two's complement value */
    if (n < 8 && (p[0] & 0x80))
        v |= ~(uint64_t)0 << (8 * n);
    return (int64_t)v;
}

/* Parse the header block [p, p+n) into m->headers. */
static int parse_headers(aws_ev_message *m, const unsigned char *p, size_t n)
{
    size_t off = 0;

    m->n_headers = 0;
    while (off < n) {
        aws_ev_header *h;
        size_t nl, vl;
        if (m->n_headers == AWS_EV_MAX_HEADERS)
            return as_error_set(AS_ECORRUPT, "event stream: more than %d headers",
                                AWS_EV_MAX_HEADERS);
        h = &m->headers[m->n_headers];
        memset(h, 0, sizeof(*h));
        nl = p[off++];
        if (nl == 0 || off + nl + 1 > n)
            return as_error_set(AS_ECORRUPT, "event stream: truncated header name");
        h->name = (const char *)p + off;
        h->name_len = nl;
        off += nl;
        h->type = p[off++];
        switch (h->type) {
        case AWS_EV_TRUE:
            h->num = 1;
            vl = 0;
            break;
        case AWS_EV_FALSE:
            vl = 0;
            break;
        case AWS_EV_INT8: vl = 1; break;
        case AWS_EV_INT16: vl = 2; break;
        case AWS_EV_INT32: vl = 4; break;
        case AWS_EV_INT64:
        case AWS_EV_TIMESTAMP: vl = 8; break;
        case AWS_EV_UUID: vl = 16; break;
        case AWS_EV_BYTES:
        case AWS_EV_STRING:
            if (off + 2 > n)
                return as_error_set(AS_ECORRUPT, "event stream: truncated header length");
            vl = (size_t)p[off] << 8 | p[off + 1];
            off += 2;
            break;
        default:
            return as_error_set(AS_ECORRUPT, "event stream: unknown header type %d", h->type);
        }
        if (off + vl > n)
            return as_error_set(AS_ECORRUPT, "event stream: truncated header value");
        if (h->type >= AWS_EV_INT8 && h->type <= AWS_EV_INT64)
            h->num = be_int(p + off, vl);
        else if (h->type == AWS_EV_TIMESTAMP)
            h->num = be_int(p + off, 8);
        else if (vl > 0) {
            h->str = (const char *)p + off;
            h->str_len = vl;
        }
        off += vl;
        m->n_headers++;
    }
    return 0;
}

/* Check the prelude of the message at 'p' (at least 12 bytes): its CRC and
 * lengths. */
static int check_prelude(const unsigned char *p, size_t max, uint32_t *total)
{
    uint32_t t = be32(p), h = be32(p + 4);

    if (aws_crc32(0, p, 8) != be32(p + 8))
        return as_error_set(AS_ECORRUPT, "event stream: prelude CRC mismatch");
    if (t < 16 || h > t - 16)
        return as_error_set(AS_ECORRUPT, "event stream: impossible lengths (total %u, headers %u)",
                            t, h);
    if (t > max)
        return as_error_set(AS_ETOOBIG, "event stream: message of %u bytes is over the %zu limit",
                            t, max);
    *total = t;
    return 0;
}

/* Check the message CRC and decode a whole message of 'total' bytes. */
static int decode_checked(aws_ev_message *m, const unsigned char *p, uint32_t total)
{
    uint32_t hl = be32(p + 4);

    if (aws_crc32(0, p, total - 4) != be32(p + total - 4))
        return as_error_set(AS_ECORRUPT, "event stream: message CRC mismatch");
    if (parse_headers(m, p + EV_PRELUDE, hl) < 0)
        return AS_ECORRUPT;
    m->payload = p + EV_PRELUDE + hl;
    m->payload_len = total - hl - 16;
    return 0;
}

int aws_evstream_decode_one(aws_ev_message *m, const void *data, size_t len)
{
    uint32_t total;
    int rc;

    if (len < 16)
        return as_error_set(AS_ECORRUPT, "event stream: %zu bytes is shorter than a message", len);
    if ((rc = check_prelude(data, len, &total)) < 0)
        return rc == AS_ETOOBIG ? as_error_set(AS_ECORRUPT, "event stream: length beyond the data")
                                : rc;
    if (total != len)
        return as_error_set(AS_ECORRUPT, "event stream: message length %u, data %zu", total, len);
    return decode_checked(m, data, total);
}

void aws_evstream_init(aws_evstream *d, size_t max_message)
{
    memset(d, 0, sizeof(*d));
    d->max_message = max_message ? max_message : EV_DEFAULT_MAX;
    as_buf_init(&d->buf, d->max_message + 1);
}

void aws_evstream_free(aws_evstream *d)
{
    if (d)
        as_buf_free(&d->buf);
}

int aws_evstream_feed(aws_evstream *d, const void *data, size_t len, aws_ev_cb cb, void *ctx)
{
    int rc = 0;

    if (d->failed)
        return as_error_set(AS_ECORRUPT, "event stream: already failed");
    while (len > 0 && rc == 0) {
        /* Take only as much as can complete the current message, so the
         * buffer never holds more than max_message + 1 bytes. */
        size_t room = d->buf.max - d->buf.len, n = len < room ? len : room;
        if (n == 0) {
            d->failed = 1;
            return as_error_set(AS_ETOOBIG, "event stream: buffer full");
        }
        if ((rc = as_buf_append(&d->buf, data, n)) < 0)
            break;
        data = (const char *)data + n;
        len -= n;
        while (rc == 0 && d->buf.len - d->start >= EV_PRELUDE) {
            const unsigned char *p = (const unsigned char *)d->buf.data + d->start;
            aws_ev_message m;
            uint32_t total;
            if ((rc = check_prelude(p, d->max_message, &total)) < 0)
                break;
            if (d->buf.len - d->start < total)
                break;
            if ((rc = decode_checked(&m, p, total)) < 0)
                break;
            d->start += total;
            d->messages++;
            rc = cb(ctx, &m);
        }
        if (rc == 0 && d->start > 0) {
            memmove(d->buf.data, d->buf.data + d->start, d->buf.len - d->start);
            d->buf.len -= d->start;
            d->buf.data[d->buf.len] = '\0';
            d->start = 0;
        }
    }
    if (rc < 0)
        d->failed = 1;
    return rc;
}

int aws_evstream_finish(aws_evstream *d)
{
    if (d->failed)
        return as_error_set(AS_ECORRUPT, "event stream: failed earlier");
    if (d->buf.len > d->start)
        return as_error_set(AS_ECORRUPT, "event stream: ended inside a message (%zu bytes left)",
                            d->buf.len - d->start);
    return 0;
}

int aws_ev_header_str(const aws_ev_message *m, const char *name, const char **val, size_t *len)
{
    size_t i, nl = strlen(name);

    for (i = 0; i < m->n_headers; i++) {
        const aws_ev_header *h = &m->headers[i];
        if (h->name_len == nl && memcmp(h->name, name, nl) == 0) {
            if (h->type != AWS_EV_STRING)
                return AS_ENOTFOUND;
            *val = h->str ? h->str : "";
            *len = h->str_len;
            return 0;
        }
    }
    return AS_ENOTFOUND;
}

void aws_ev_take_error(const aws_ev_message *m, char **err)
{
    const char *code, *msg = "";
    size_t cn, mn = 0;

    if (aws_ev_header_str(m, ":error-code", &code, &cn) < 0)
        return;
    (void)aws_ev_header_str(m, ":error-message", &msg, &mn);   /* optional */
    free(*err);
    if (asprintf(err, "%.*s: %.*s", (int)cn, code, (int)(mn > 300 ? 300 : mn), msg) < 0)
        *err = NULL;
}

int aws_ev_header_is(const aws_ev_message *m, const char *name, const char *value)
{
    const char *v;
    size_t n;

    if (aws_ev_header_str(m, name, &v, &n) < 0)
        return 0;
    return n == strlen(value) && memcmp(v, value, n) == 0;
}
