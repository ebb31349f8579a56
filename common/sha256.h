/* SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), for content hashes, cache
 * keys and hashed API tokens. */
#ifndef AS_SHA256_H
#define AS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AS_SHA256_LEN 32

typedef struct as_sha256 {
    uint32_t h[8];
    uint64_t total;
    unsigned char block[64];
    size_t fill;
} as_sha256;

void as_sha256_init(as_sha256 *c);
void as_sha256_update(as_sha256 *c, const void *data, size_t len);
void as_sha256_final(as_sha256 *c, unsigned char out[AS_SHA256_LEN]);
void as_sha256_once(const void *data, size_t len, unsigned char out[AS_SHA256_LEN]);
void as_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                    unsigned char out[AS_SHA256_LEN]);

/* Lower-case hex of 'len' bytes into 'out' (2*len+1 bytes, NUL-terminated). */
void as_hex(const unsigned char *in, size_t len, char *out);

#endif
