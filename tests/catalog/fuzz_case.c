/* Fuzz target: the dataset line parser, one case per input line. */
#include "catalog/catalog.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    long lineno = 0;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        cat_case cs;
        if (cat_case_parse(&cs, s, len, ++lineno) == 0)
            cat_case_clear(&cs);
        s += len + (nl ? 1 : 0);
    }
    return 0;
}
