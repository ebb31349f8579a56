/* Test helper: encode one AWS event-stream message whose headers are all
 * strings (type 7), as the services send them. */
#ifndef AS_TEST_EVFRAME_H
#define AS_TEST_EVFRAME_H

#include <string.h>

#include "evaluator/providers/aws_evstream.h"

static void ev_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* 'hdrs' is name, value, name, value, ..., NULL. Returns the bytes written. */
static size_t ev_frame(unsigned char *out, const char *const *hdrs, const char *payload,
                       size_t plen)
{
    size_t hl = 0, i, off = 12;

    for (i = 0; hdrs[i]; i += 2)
        hl += 1 + strlen(hdrs[i]) + 3 + strlen(hdrs[i + 1]);
    ev_put32(out, (uint32_t)(16 + hl + plen));
    ev_put32(out + 4, (uint32_t)hl);
    ev_put32(out + 8, aws_crc32(0, out, 8));
    for (i = 0; hdrs[i]; i += 2) {
        size_t nl = strlen(hdrs[i]), vl = strlen(hdrs[i + 1]);
        out[off++] = (unsigned char)nl;
        memcpy(out + off, hdrs[i], nl);
        off += nl;
        out[off++] = 7;
        out[off++] = (unsigned char)(vl >> 8);
        out[off++] = (unsigned char)vl;
        memcpy(out + off, hdrs[i + 1], vl);
        off += vl;
    }
    memcpy(out + off, payload, plen);
    off += plen;
    ev_put32(out + off, aws_crc32(0, out, off));
    return off + 4;
}

#endif
