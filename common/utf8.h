/* UTF-8 validation and decoding. */
#ifndef AS_UTF8_H
#define AS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if 's' is well-formed UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF), else 0 with the byte offset of the first bad byte in *bad. */
int as_utf8_valid(const char *s, size_t len, size_t *bad);

/* Make the NUL-terminated 's' one line of valid UTF-8, in place, for a
 * message that quotes outside text: bytes that are not part of a
 * well-formed character and control characters become '?', line breaks and
 * tabs spaces, trailing spaces go, and the text is cut to at most 'max'
 * bytes on a character boundary. Returns the new length. */
size_t as_utf8_one_line(char *s, size_t max);

/* Decode one code point at s[0..len) into *cp; returns its length in
 * bytes, or 0 when the sequence is malformed. */
size_t as_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Encode 'cp' into out (at least 4 bytes); returns the length, 0 if the
 * value is not a scalar value. */
size_t as_utf8_encode(uint32_t cp, char *out);

#endif
