/* Random bytes from the kernel, for tokens and secrets. */
#ifndef AS_RAND_H
#define AS_RAND_H

#include <stddef.h>

int as_random_bytes(void *out, size_t len);

#endif
