/* The AWS event-stream decoder against published vectors (the 30-byte
 * {"foo": "bar"} message of reference/PROVIDERS.md and the messages of
 * awslabs/aws-c-event-stream's tests), corrupted CRCs, every split point,
 * truncated streams and all header types. */
#include <stdlib.h>
#include <string.h>

#include "evaluator/providers/aws_evstream.h"
#include "tests/providers/evframe.h"
#include "tests/test.h"

/* payload {"foo": "bar"}, no headers: 30 bytes */
static const unsigned char msg30[] = {
    0x00, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00, 0x00, 0xBA, 0xF2, 0xF6, 0x8A, '{', '"', 'f', 'o',
    'o', '"', ':', ' ', '"', 'b', 'a', 'r', '"', '}', 0xAE, 0x72, 0x58, 0xE4};

/* aws-c-event-stream test_outgoing_no_op_valid: 16 bytes, nothing inside */
static const unsigned char msg_noop[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
                                         0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff};

/* aws-c-event-stream test_outgoing_application_one_compressed_header_pair_valid */
static const unsigned char msg_hdr[] = {
    0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x20, 0x07, 0xFD, 0x83, 0x96, 0x0C, 'c', 'o', 'n',
    't', 'e', 'n', 't', '-', 't', 'y', 'p', 'e', 0x07, 0x00, 0x10, 'a', 'p', 'p', 'l', 'i', 'c',
    'a', 't', 'i', 'o', 'n', '/', 'j', 's', 'o', 'n', 0x7b, 0x27, 0x66, 0x6f, 0x6f, 0x27, 0x3a,
    0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0x8D, 0x9C, 0x08, 0xB1};

/* Collects what the decoder delivers. */
typedef struct sink {
    int n;
    char payloads[2048];
    size_t plen;
    char event_types[256];
} sink;

static int collect(void *ctx, const aws_ev_message *m)
{
    sink *s = ctx;
    const char *v;
    size_t n;

    s->n++;
    if (s->plen + m->payload_len + 1 < sizeof(s->payloads)) {
        memcpy(s->payloads + s->plen, m->payload, m->payload_len);
        s->plen += m->payload_len;
        s->payloads[s->plen++] = '|';
        s->payloads[s->plen] = '\0';
    }
    if (aws_ev_header_str(m, ":event-type", &v, &n) == 0 &&
        strlen(s->event_types) + n + 2 < sizeof(s->event_types)) {
        strncat(s->event_types, v, n);
        strncat(s->event_types, ",", 2);
    }
    return 0;
}

static void evstream__crc32_matches_zlib(void)
{
    T_EQ_INT(aws_crc32(0, "123456789", 9), 0xCBF43926u);   /* the CRC-32 check value */
    T_EQ_INT(aws_crc32(0, msg30, 8), 0xBAF2F68Au);
    T_EQ_INT(aws_crc32(0, msg30, 26), 0xAE7258E4u);
    T_EQ_INT(aws_crc32(aws_crc32(0, msg30, 5), msg30 + 5, 21), 0xAE7258E4u);
}

static void evstream__published_vectors(void)
{
    aws_ev_message m;
    const char *v;
    size_t n;

    T_OK(aws_evstream_decode_one(&m, msg30, sizeof(msg30)));
    T_EQ_INT(m.n_headers, 0);
    T_EQ_INT(m.payload_len, 14);
    T_CHECK(memcmp(m.payload, "{\"foo\": \"bar\"}", 14) == 0);

    T_OK(aws_evstream_decode_one(&m, msg_noop, sizeof(msg_noop)));
    T_EQ_INT(m.n_headers, 0);
    T_EQ_INT(m.payload_len, 0);

    T_OK(aws_evstream_decode_one(&m, msg_hdr, sizeof(msg_hdr)));
    T_EQ_INT(m.n_headers, 1);
    T_OK(aws_ev_header_str(&m, "content-type", &v, &n));
    T_EQ_INT(n, 16);
    T_CHECK(memcmp(v, "application/json", 16) == 0);
    T_CHECK(aws_ev_header_is(&m, "content-type", "application/json"));
    T_CHECK(!aws_ev_header_is(&m, "content-type", "application/jso"));
    T_EQ_INT(m.payload_len, 13);
    T_CHECK(memcmp(m.payload, "{'foo':'bar'}", 13) == 0);
}

/* Flipping any bit of any byte must be rejected (prelude CRC, message CRC
 * or length checks), never accepted and never crash. */
static void evstream__corrupted_bytes_rejected(void)
{
    unsigned char buf[sizeof(msg_hdr)];
    size_t i;
    int bit;

    for (i = 0; i < sizeof(msg_hdr); i++)
        for (bit = 0; bit < 8; bit++) {
            aws_ev_message m;
            memcpy(buf, msg_hdr, sizeof(buf));
            buf[i] ^= (unsigned char)(1u << bit);
            T_ERR(aws_evstream_decode_one(&m, buf, sizeof(buf)), AS_ECORRUPT);
        }
    memcpy(buf, msg30, sizeof(msg30));
    buf[9] ^= 1;
    {
        aws_evstream d;
        sink s = {0};
        aws_evstream_init(&d, 0);
        T_ERR(aws_evstream_feed(&d, buf, sizeof(msg30), collect, &s), AS_ECORRUPT);
        T_CHECK(strstr(as_error_msg(), "prelude CRC") != NULL);
        /* the stream stays dead */
        T_ERR(aws_evstream_feed(&d, msg30, sizeof(msg30), collect, &s), AS_ECORRUPT);
        T_EQ_INT(s.n, 0);
        aws_evstream_free(&d);
    }
    memcpy(buf, msg30, sizeof(msg30));
    buf[20] ^= 0x20;
    {
        aws_evstream d;
        sink s = {0};
        aws_evstream_init(&d, 0);
        T_ERR(aws_evstream_feed(&d, buf, sizeof(msg30), collect, &s), AS_ECORRUPT);
        T_CHECK(strstr(as_error_msg(), "message CRC") != NULL);
        aws_evstream_free(&d);
    }
}

/* Build one message: headers given as name/value strings (type 7), NULL
 * for none. */
static size_t encode(unsigned char *out, const char *const *hdrs, const char *payload)
{
    static const char *const none[] = {NULL};

    return ev_frame(out, hdrs ? hdrs : none, payload, strlen(payload));
}

/* Three messages fed in two pieces split at every byte position, and one
 * byte at a time, give exactly what one piece gives. */
static void evstream__every_split_reassembles(void)
{
    static const char *const h1[] = {":message-type", "event", ":event-type", "PayloadPart", NULL};
    static const char *const h2[] = {":message-type", "event", ":event-type", "contentBlockDelta",
                                     ":content-type", "application/json", NULL};
    unsigned char stream[1024];
    size_t len = 0, cut, i;
    sink whole = {0};
    aws_evstream d;

    len += encode(stream + len, h1, "data:{\"token\":{\"text\":\"Hel");
    len += encode(stream + len, h2, "{\"delta\":{\"text\":\"lo\"}}");
    memcpy(stream + len, msg30, sizeof(msg30));
    len += sizeof(msg30);

    aws_evstream_init(&d, 0);
    T_OK(aws_evstream_feed(&d, stream, len, collect, &whole));
    T_OK(aws_evstream_finish(&d));
    aws_evstream_free(&d);
    T_EQ_INT(whole.n, 3);
    T_EQ_STR(whole.event_types, "PayloadPart,contentBlockDelta,");

    for (cut = 0; cut <= len; cut++) {
        sink s = {0};
        aws_evstream_init(&d, 0);
        T_OK(aws_evstream_feed(&d, stream, cut, collect, &s));
        T_OK(aws_evstream_feed(&d, stream + cut, len - cut, collect, &s));
        T_OK(aws_evstream_finish(&d));
        aws_evstream_free(&d);
        T_EQ_INT(s.n, 3);
        T_CHECK(s.plen == whole.plen && memcmp(s.payloads, whole.payloads, s.plen) == 0);
        T_EQ_STR(s.event_types, whole.event_types);
    }
    {
        sink s = {0};
        aws_evstream_init(&d, 0);
        for (i = 0; i < len; i++)
            T_OK(aws_evstream_feed(&d, stream + i, 1, collect, &s));
        T_OK(aws_evstream_finish(&d));
        aws_evstream_free(&d);
        T_EQ_INT(s.n, 3);
        T_EQ_STR(s.payloads, whole.payloads);
    }
}

static void evstream__truncated_stream_detected(void)
{
    aws_evstream d;
    sink s = {0};

    aws_evstream_init(&d, 0);
    T_OK(aws_evstream_feed(&d, msg30, sizeof(msg30) - 3, collect, &s));
    T_EQ_INT(s.n, 0);
    T_ERR(aws_evstream_finish(&d), AS_ECORRUPT);
    aws_evstream_free(&d);
}

static void evstream__limits(void)
{
    aws_evstream d;
    sink s = {0};
    unsigned char big[12] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    uint32_t crc = aws_crc32(0, big, 8);

    big[8] = (unsigned char)(crc >> 24); big[9] = (unsigned char)(crc >> 16);
    big[10] = (unsigned char)(crc >> 8); big[11] = (unsigned char)crc;
    aws_evstream_init(&d, 1024);
    T_ERR(aws_evstream_feed(&d, big, sizeof(big), collect, &s), AS_ETOOBIG);
    aws_evstream_free(&d);

    /* headers_length larger than the message */
    memset(big, 0, sizeof(big));
    big[3] = 16;
    big[7] = 1;
    crc = aws_crc32(0, big, 8);
    big[8] = (unsigned char)(crc >> 24); big[9] = (unsigned char)(crc >> 16);
    big[10] = (unsigned char)(crc >> 8); big[11] = (unsigned char)crc;
    aws_evstream_init(&d, 0);
    T_ERR(aws_evstream_feed(&d, big, sizeof(big), collect, &s), AS_ECORRUPT);
    aws_evstream_free(&d);
}

/* Every header type of the specification decodes to its value. */
static void evstream__all_header_types(void)
{
    unsigned char m[256];
    size_t off = 12, hl, total, i;
    uint32_t crc;
    aws_ev_message msg;
    static const unsigned char hdrs[] = {
        1, 't', 0,                                   /* true */
        1, 'f', 1,                                   /* false */
        1, 'b', 2, 0xFE,                             /* int8 -2 */
        1, 's', 3, 0x01, 0x02,                       /* int16 258 */
        1, 'i', 4, 0xFF, 0xFF, 0xFF, 0xFD,           /* int32 -3 */
        1, 'l', 5, 0, 0, 0, 1, 0, 0, 0, 0,           /* int64 2^32 */
        1, 'y', 6, 0, 3, 'a', 0, 'c',                /* bytes */
        1, 'x', 7, 0, 2, 'h', 'i',                   /* string */
        1, 'T', 8, 0, 0, 1, 0x8B, 0xCF, 0xE5, 0x68, 0x00,  /* timestamp ms */
        1, 'u', 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    hl = sizeof(hdrs);
    memcpy(m + off, hdrs, hl);
    off += hl;
    total = off + 4;
    memset(m, 0, 12);
    m[3] = (unsigned char)total;
    m[7] = (unsigned char)hl;
    crc = aws_crc32(0, m, 8);
    m[8] = (unsigned char)(crc >> 24); m[9] = (unsigned char)(crc >> 16);
    m[10] = (unsigned char)(crc >> 8); m[11] = (unsigned char)crc;
    crc = aws_crc32(0, m, off);
    m[off++] = (unsigned char)(crc >> 24); m[off++] = (unsigned char)(crc >> 16);
    m[off++] = (unsigned char)(crc >> 8); m[off++] = (unsigned char)crc;

    T_OK(aws_evstream_decode_one(&msg, m, off));
    T_EQ_INT(msg.n_headers, 10);
    T_EQ_INT(msg.payload_len, 0);
    T_EQ_INT(msg.headers[0].num, 1);
    T_EQ_INT(msg.headers[1].num, 0);
    T_EQ_INT(msg.headers[2].num, -2);
    T_EQ_INT(msg.headers[3].num, 258);
    T_EQ_INT(msg.headers[4].num, -3);
    T_EQ_INT(msg.headers[5].num, 4294967296LL);
    T_EQ_INT(msg.headers[6].str_len, 3);
    T_EQ_INT(msg.headers[7].type, AWS_EV_STRING);
    T_EQ_INT(msg.headers[8].num, 1700000000000LL);
    T_EQ_INT(msg.headers[9].str_len, 16);
    for (i = 0; i < msg.n_headers; i++)
        T_EQ_INT(msg.headers[i].name_len, 1);

    /* an unknown type (10) is rejected */
    m[12 + 2] = 10;
    crc = aws_crc32(0, m, off - 4);
    m[off - 4] = (unsigned char)(crc >> 24); m[off - 3] = (unsigned char)(crc >> 16);
    m[off - 2] = (unsigned char)(crc >> 8); m[off - 1] = (unsigned char)crc;
    T_ERR(aws_evstream_decode_one(&msg, m, off), AS_ECORRUPT);
}

/* Encode a message with 'hdrs', decode it and hand it to aws_ev_take_error. */
static void take_error(const char *const *hdrs, char **err)
{
    static unsigned char buf[2048];
    aws_ev_message m;
    size_t n = encode(buf, hdrs, "{}");

    T_OK(aws_evstream_decode_one(&m, buf, n));
    aws_ev_take_error(&m, err);
}

/* An :error-code message becomes "<code>: <message>" (the message capped at
 * 300 bytes); any other message leaves the error as it was. */
static void evstream__error_message_taken(void)
{
    char longmsg[400], *err = NULL;
    const char *h_err[] = {":message-type", "error", ":error-code", "InternalFailure",
                           ":error-message", "boom", NULL};
    const char *h_code[] = {":message-type", "error", ":error-code", "Bare", NULL};
    const char *h_long[] = {":error-code", "Long", ":error-message", longmsg, NULL};
    const char *h_event[] = {":message-type", "event", ":event-type", "chunk", NULL};

    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    take_error(h_event, &err);
    T_CHECK(err == NULL);
    take_error(h_err, &err);
    T_EQ_STR(err, "InternalFailure: boom");
    take_error(h_event, &err);
    T_EQ_STR(err, "InternalFailure: boom");     /* kept */
    take_error(h_code, &err);
    T_EQ_STR(err, "Bare: ");
    take_error(h_long, &err);
    T_EQ_INT(err ? (long long)strlen(err) : -1, (long long)(strlen("Long: ") + 300));
    free(err);
}

int main(void)
{
    T_RUN(evstream__crc32_matches_zlib);
    T_RUN(evstream__published_vectors);
    T_RUN(evstream__corrupted_bytes_rejected);
    T_RUN(evstream__every_split_reassembles);
    T_RUN(evstream__truncated_stream_detected);
    T_RUN(evstream__limits);
    T_RUN(evstream__all_header_types);
    T_RUN(evstream__error_message_taken);
    return t_done();
}
