/* Fuzz target: the tokenizer.json loader on arbitrary bytes. Whatever it
 * accepts must encode and decode a fixed text without a crash, and decoding
 * must give valid UTF-8. */
#include "common/utf8.h"
#include "evaluator/engine/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eng_tokenizer *t = NULL;
    if (eng_tok_load_mem(&t, (const char *)data, size, NULL, 0) != 0)
        return 0;
    static const char text[] = "Hello world! <|im_start|> caf\xC3\xA9 \xE4\xB8\xAD 123  \n";
    int32_t *ids = NULL;
    size_t n = 0;
    if (eng_tok_encode(t, text, sizeof text - 1, 1, &ids, &n) == 0) {
        char *back = NULL;
        size_t len = 0;
        if (eng_tok_decode(t, ids, n, 0, &back, &len) == 0 && !as_utf8_valid(back, len, NULL))
            abort();
        free(back);
        free(ids);
    }
    eng_tok_free(t);
    return 0;
}
