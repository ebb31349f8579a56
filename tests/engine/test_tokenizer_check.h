/* Shared by the tokenizer tests: check a tokenizer against the ids and
 * texts that Hugging Face `tokenizers` produced for the fixture corpus
 * (tests/fixtures/tokenizer/gen_expected.js). */
#ifndef AS_TEST_TOKENIZER_CHECK_H
#define AS_TEST_TOKENIZER_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/utf8.h"
#include "evaluator/engine/tokenizer.h"
#include "../test.h"

#define TK_FIXTURES AS_SOURCE_DIR "/tests/fixtures/tokenizer/"

/* Split a file of JSON lines into objects (a new array reference). */
static json_t *tk_read_jsonl(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    json_t *arr = json_array();
    if (as_file_read(&data, &len, path, (size_t)16 << 20) < 0) {
        fprintf(stderr, "  cannot read %s: %s\n", path, as_error_msg());
        return arr;
    }
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *v = NULL;
        if (n > 0 && as_json_parse(&v, p, n, path) == 0)
            json_array_append_new(arr, v);
        p += n + 1;
    }
    free(data);
    return arr;
}

static int tk_ids_equal(const int32_t *ids, size_t n, const json_t *want)
{
    if (!json_is_array(want) || json_array_size(want) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (json_integer_value(json_array_get(want, i)) != ids[i])
            return 0;
    }
    return 1;
}

/* Decode 'ids' one at a time with the streaming decoder; every chunk must
 * be valid UTF-8 and the whole must equal 'want'. */
static int tk_stream_matches(const eng_tokenizer *t, const int32_t *ids, size_t n, int skip,
                             const char *want)
{
    eng_tok_stream *s;
    as_buf all;
    const char *p;
    size_t plen;
    int ok = 1;
    if (eng_tok_stream_new(&s, t, skip) < 0)
        return 0;
    as_buf_init(&all, 0);
    for (size_t i = 0; ok && i <= n; i++) {
        int rc =
            i < n ? eng_tok_stream_put(s, ids[i], &p, &plen) : eng_tok_stream_finish(s, &p, &plen);
        ok = rc == 0 && (plen == 0 || as_utf8_valid(p, plen, NULL)) &&
             as_buf_append(&all, p, plen) == 0;
    }
    ok = ok && all.len == strlen(want) && memcmp(all.data ? all.data : "", want, all.len) == 0;
    as_buf_free(&all);
    eng_tok_stream_free(s);
    return ok;
}

/* Check every line of 'corpus_path' against 'expected_path'; returns the
 * number of mismatching lines. */
static int tk_check_expected(const eng_tokenizer *t, const char *corpus_path,
                             const char *expected_path)
{
    json_t *corpus = tk_read_jsonl(corpus_path);
    json_t *exp = tk_read_jsonl(expected_path);
    int bad = 0;
    T_CHECK(json_array_size(corpus) > 50);
    T_EQ_INT(json_array_size(exp), json_array_size(corpus));
    for (size_t i = 0; i < json_array_size(corpus) && i < json_array_size(exp); i++) {
        const json_t *tv = json_object_get(json_array_get(corpus, i), "text");
        const json_t *e = json_array_get(exp, i);
        const char *text = json_string_value(tv);
        int32_t *ids = NULL, *plain = NULL;
        size_t n = 0, np = 0;
        char *dec = NULL, *dec_skip = NULL;
        int ok =
            eng_tok_encode(t, text, json_string_length(tv), ENG_TOK_ADD_SPECIAL, &ids, &n) == 0 &&
            eng_tok_encode(t, text, json_string_length(tv), 0, &plain, &np) == 0 &&
            tk_ids_equal(ids, n, json_object_get(e, "ids")) &&
            tk_ids_equal(plain, np, json_object_get(e, "ids_plain")) &&
            eng_tok_decode(t, ids, n, 0, &dec, NULL) == 0 &&
            eng_tok_decode(t, ids, n, 1, &dec_skip, NULL) == 0 &&
            strcmp(dec, json_string_value(json_object_get(e, "text"))) == 0 &&
            strcmp(dec_skip, json_string_value(json_object_get(e, "text_skip"))) == 0 &&
            tk_stream_matches(t, ids, n, 0, dec) && tk_stream_matches(t, ids, n, 1, dec_skip);
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s: line %zu differs: %.60s\n", expected_path, i + 1, text);
            bad++;
        }
        free(ids);
        free(plain);
        free(dec);
        free(dec_skip);
    }
    json_decref(corpus);
    json_decref(exp);
    return bad;
}

#endif
