/* Fuzz target for the AWS event-stream decoder: the input is fed to the
 * streaming decoder in slices whose sizes come from the first byte, and to
 * the one-message decoder whole. Nothing may crash, leak or read out of
 * bounds, and a delivered message must lie inside what was fed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "evaluator/providers/aws_evstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
    size_t fed;
    size_t payload_bytes;
} fz;

static int on_msg(void *ctx, const aws_ev_message *m)
{
    fz *f = ctx;
    const char *v;
    size_t n, i;

    if (m->payload_len > f->fed)
        abort();
    f->payload_bytes += m->payload_len;
    for (i = 0; i < m->n_headers; i++)
        if (m->headers[i].name_len == 0)
            abort();
    (void)aws_ev_header_str(m, ":event-type", &v, &n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aws_evstream d;
    aws_ev_message m;
    fz f = {0, 0};
    size_t step, off = 0;

    if (size == 0)
        return 0;
    step = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    aws_evstream_init(&d, 1 << 16);
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        f.fed += n;
        if (aws_evstream_feed(&d, data + off, n, on_msg, &f) < 0)
            break;
        off += n;
    }
    (void)aws_evstream_finish(&d);
    aws_evstream_free(&d);
    (void)aws_evstream_decode_one(&m, data, size);
    return 0;
}
