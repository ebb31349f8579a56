/* Fuzz target: the safetensors header parser on arbitrary file images. */
#include "evaluator/engine/safetensors.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eng_st_table t;
    size_t i;
    volatile uint8_t sink = 0;

    if (eng_st_parse(&t, data, size, "fuzz") == 0) {
        /* Every tensor the parser accepts must lie inside the input. */
        for (i = 0; i < t.n; i++)
            if (t.t[i].nbytes > 0)
                sink ^= ((const uint8_t *)t.t[i].data)[t.t[i].nbytes - 1];
        eng_st_table_clear(&t);
    }
    (void)sink;
    return 0;
}
