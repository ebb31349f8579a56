/* Fuzz target for tokenizer_config.json: the input is loaded as the config
 * of the small byte-level and SentencePiece fixture tokenizers (special
 * tokens as strings or AddedToken objects, chat_template as a string or a
 * list of named templates); what loads must encode a fixed text with the
 * special tokens added, render and encode a fixed conversation with the
 * template family it names (or refuse it with an error), and decode the
 * ids to valid UTF-8. Nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>

#include "common/fs.h"
#include "common/json.h"
#include "common/utf8.h"
#include "evaluator/engine/chat_template.h"
#include "evaluator/engine/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *files[2];
static size_t lens[2];
static json_t *messages;

static void load_once(void)
{
    static const char *const paths[2] = {TK_DIR "/tiny_llama3.json", TK_DIR "/tiny_sp.json"};
    int k;

    for (k = 0; k < 2; k++)
        if (as_file_read(&files[k], &lens[k], paths[k], (size_t)1 << 24) < 0)
            abort();
    messages = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "role", "system", "content",
                         "Be brief.", "role", "user", "content", "Hi <s> caf\xC3\xA9", "role",
                         "assistant", "content", "Hello.", "role", "user", "content", "Bye");
    if (messages == NULL)
        abort();
}

static void decode_check(const eng_tokenizer *t, int32_t *ids, size_t n)
{
    char *back = NULL;
    size_t len = 0;

    if (eng_tok_decode(t, ids, n, 0, &back, &len) == 0 && as_utf8_valid(back, len, NULL) != 1)
        abort();
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char text[] = "Hello <s> world </s> \xE4\xB8\xAD";
    int k;

    if (files[0] == NULL)
        load_once();
    for (k = 0; k < 2; k++) {
        eng_tokenizer *t = NULL;
        int32_t *ids = NULL;
        size_t n = 0;

        if (eng_tok_load_mem(&t, files[k], lens[k], (const char *)data, size) != 0)
            continue;
        if (eng_tok_encode(t, text, sizeof text - 1, 1, &ids, &n) == 0)
            decode_check(t, ids, n);
        ids = NULL;
        if (eng_chat_encode(t, messages, 1, &ids, &n) == 0)
            decode_check(t, ids, n);
        eng_tok_free(t);
    }
    return 0;
}
