/* Kernel randomness; see rand.h. */
#include "common/rand.h"
#include "common/error.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int as_random_bytes(void *out, size_t len)
{
    unsigned char *p = out;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return as_error_set(AS_ERROR, "getrandom: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
