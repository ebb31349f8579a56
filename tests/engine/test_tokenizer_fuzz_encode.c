/* Fuzz target: the encoder and the streaming decoder of the small byte-level
 * and SentencePiece tokenizers on arbitrary text. Valid UTF-8 must encode,
 * and with the byte-level Llama 3 pipeline decode back to the same bytes
 * (unless around the added token <tool>, which strips spaces);
 * invalid UTF-8 must be refused; any ids (made from the input bytes) must
 * decode to valid UTF-8. */
#include "common/utf8.h"
#include "evaluator/engine/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static eng_tokenizer *tiny[2];

static void load_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (eng_tok_load(&tiny[0], TK_DIR "/tiny_llama3.json", NULL) != 0 ||
        eng_tok_load(&tiny[1], TK_DIR "/tiny_sp.json", NULL) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int valid = as_utf8_valid(s, size, NULL);
    load_once();
    for (int k = 0; k < 2; k++) {
        eng_tokenizer *t = tiny[k];
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = eng_tok_encode(t, s, size, k == 1 ? 1 : 0, &ids, &n);
        if (valid != (rc == 0))
            abort();
        if (rc == 0) {
            char *back = NULL;
            size_t len = 0;
            if (eng_tok_decode(t, ids, n, 0, &back, &len) != 0 || !as_utf8_valid(back, len, NULL))
                abort();
            /* lossless, except that <tool> (lstrip/rstrip) eats spaces */
            if (k == 0 && !memmem(s, size, "<tool>", 6) &&
                (len != size || memcmp(back, s, size) != 0))
                abort();
            free(back);
            free(ids);
        }
        /* arbitrary ids from the bytes, in range */
        size_t m = size / 2;
        int32_t *raw = malloc((m ? m : 1) * sizeof *raw);
        if (!raw)
            abort();
        for (size_t i = 0; i < m; i++)
            raw[i] = (int32_t)((data[2 * i] << 8 | data[2 * i + 1]) % eng_tok_vocab_size(t));
        char *text = NULL;
        size_t len = 0;
        if (eng_tok_decode(t, raw, m, data[0] & 1, &text, &len) != 0 ||
            !as_utf8_valid(text, len, NULL))
            abort();
        free(text);
        free(raw);
    }
    return 0;
}
