/* The AWS event-stream binary framing (Smithy "Amazon Event Stream
 * Specification"), used by SageMaker InvokeEndpointWithResponseStream and
 * Bedrock ConverseStream. Bytes arrive in arbitrary slices from the network;
 * the decoder buffers them, checks both CRC32s of every message, and hands
 * each complete message to a callback.
 *
 *   uint32 total_length | uint32 headers_length | uint32 prelude_crc
 *   headers[headers_length] | payload[total - headers - 16] | uint32 message_crc
 *
 * All integers are big-endian; CRC32 is the IEEE/zlib one. A CRC mismatch or
 * an impossible length ends the stream for good (AS_ECORRUPT). */
#ifndef AS_AWS_EVSTREAM_H
#define AS_AWS_EVSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Header value types of the framing. */
enum {
    AWS_EV_TRUE = 0, AWS_EV_FALSE = 1, AWS_EV_INT8 = 2, AWS_EV_INT16 = 3,
    AWS_EV_INT32 = 4, AWS_EV_INT64 = 5, AWS_EV_BYTES = 6, AWS_EV_STRING = 7,
    AWS_EV_TIMESTAMP = 8, AWS_EV_UUID = 9
};

#define AWS_EV_MAX_HEADERS 32

/* One decoded header; 'name' and 'str' point into the message being
 * delivered (valid only during the callback) and are NOT NUL-terminated. */
typedef struct aws_ev_header {
    const char *name;
    size_t name_len;
    int type;
    int64_t num;            /* bool (1/0), integers, timestamp */
    const char *str;        /* bytes, string, uuid (16 bytes) */
    size_t str_len;
} aws_ev_header;

/* One complete, checked message, borrowed for the callback's duration. */
typedef struct aws_ev_message {
    aws_ev_header headers[AWS_EV_MAX_HEADERS];
    size_t n_headers;
    const unsigned char *payload;
    size_t payload_len;
} aws_ev_message;

/* Called once per message; a negative return stops decoding and is passed
 * up from aws_evstream_feed unchanged. */
typedef int (*aws_ev_cb)(void *ctx, const aws_ev_message *m);

typedef struct aws_evstream {
    as_buf buf;             /* bytes received but not yet delivered */
    size_t start;           /* first undelivered byte in buf */
    size_t max_message;     /* cap on total_length */
    size_t messages;        /* delivered so far */
    int failed;             /* sticky: a bad message ended the stream */
} aws_evstream;

/* Start a decoder accepting messages up to 'max_message' bytes (0 means
 * 24 MiB payload + 128 KiB headers + 16, the protocol's own limits). */
void aws_evstream_init(aws_evstream *d, size_t max_message);
void aws_evstream_free(aws_evstream *d);

/* Feed 'len' more bytes; calls 'cb' for every message they complete.
 * Returns 0, AS_ECORRUPT (bad CRC, bad lengths, bad header; message says
 * which), AS_ETOOBIG, or the callback's error. After an error every later
 * call fails with AS_ECORRUPT. */
int aws_evstream_feed(aws_evstream *d, const void *data, size_t len, aws_ev_cb cb, void *ctx);

/* The stream ended: AS_ECORRUPT if part of a message is still buffered
 * (a connection cut mid-message), else 0. */
int aws_evstream_finish(aws_evstream *d);

/* Decode exactly one message occupying all of 'data' (no callback copy). */
int aws_evstream_decode_one(aws_ev_message *m, const void *data, size_t len);

/* The string value of header 'name' into *val and *len; 0 if present and a
 * string, AS_ENOTFOUND otherwise. */
int aws_ev_header_str(const aws_ev_message *m, const char *name, const char **val, size_t *len);

/* Nonzero when header 'name' is a string equal to 'value'. */
int aws_ev_header_is(const aws_ev_message *m, const char *name, const char *value);

/* When 'm' carries an :error-code header (an error of the stream itself,
 * sent by Bedrock and SageMaker alike), replace *err with "<code>:
 * <:error-message, at most 300 bytes>" (caller frees; NULL when out of
 * memory); otherwise leave *err as it is. */
void aws_ev_take_error(const aws_ev_message *m, char **err);

/* CRC32 (IEEE 802.3, reflected 0xEDB88320) continuing from 'crc' (0 first). */
uint32_t aws_crc32(uint32_t crc, const void *data, size_t len);

#endif
