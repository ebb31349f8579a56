/* Fuzz target: config.json parsing (and generation_config.json merging) on
 * arbitrary bytes. */
#include "evaluator/engine/config.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eng_config c;

    if (eng_config_parse(&c, (const char *)data, size, "fuzz") == 0)
        (void)eng_config_merge_generation(&c, (const char *)data, size, "fuzz");
    return 0;
}
