/* Tokenizer throughput on one core: encode MB/s and decode tokens/s of each
 * tokenizer.json named on the command line (default: the small Llama 3
 * fixture and, when tests/engine/setup.sh fetched them, the real Qwen3 and
 * Gemma 3 files; run from the repository root). The text is the fixture
 * corpus (English, code, numbers, whitespace, emoji, CJK, Arabic, accented
 * Latin) repeated to 'MB' megabytes (second form: -m MB). */
#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/engine/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The corpus texts joined by newlines, repeated to at least 'bytes'. */
static int make_text(as_buf *out, const char *corpus, size_t bytes)
{
    char *data;
    size_t len;
    as_buf once;
    int rc;
    if ((rc = as_file_read(&data, &len, corpus, (size_t)16 << 20)) < 0)
        return rc;
    as_buf_init(&once, 0);
    for (char *p = data, *end = data + len; rc == 0 && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *v = NULL;
        if (n > 0 && (rc = as_json_parse(&v, p, n, corpus)) == 0) {
            const json_t *t = json_object_get(v, "text");
            rc = as_buf_append(&once, json_string_value(t), json_string_length(t));
            if (rc == 0)
                rc = as_buf_putc(&once, '\n');
            json_decref(v);
        }
        p += n + 1;
    }
    free(data);
    while (rc == 0 && out->len < bytes && once.len > 0)
        rc = as_buf_append(out, once.data, once.len);
    as_buf_free(&once);
    return rc;
}

static int bench_one(const char *path, const as_buf *text)
{
    eng_tokenizer *t;
    double t0 = now();
    if (eng_tok_load(&t, path, NULL) < 0) {
        fprintf(stderr, "%s\n", as_error_msg());
        return 1;
    }
    double load_s = now() - t0;
    /* encode in 64 kB chunks cut at newlines, as a prompt-sized workload */
    size_t ntok = 0;
    int32_t *all = NULL;
    size_t cap = 0;
    t0 = now();
    for (size_t off = 0; off < text->len;) {
        size_t n = text->len - off < 65536 ? text->len - off : 65536;
        while (off + n < text->len && n > 1 && text->data[off + n - 1] != '\n')
            n--;
        int32_t *ids;
        size_t k;
        if (eng_tok_encode(t, text->data + off, n, 0, &ids, &k) < 0) {
            fprintf(stderr, "%s\n", as_error_msg());
            eng_tok_free(t);
            free(all);
            return 1;
        }
        if (ntok + k > cap) {
            cap = (ntok + k) * 2;
            int32_t *a = realloc(all, cap * sizeof *a);
            if (!a) {
                free(ids);
                free(all);
                eng_tok_free(t);
                return 1;
            }
            all = a;
        }
        memcpy(all + ntok, ids, k * sizeof *ids);
        ntok += k;
        free(ids);
        off += n;
    }
    double enc_s = now() - t0;
    char *back;
    size_t blen;
    t0 = now();
    int rc = eng_tok_decode(t, all, ntok, 0, &back, &blen);
    double dec_s = now() - t0;
    if (rc == 0) {
        /* the last two path components: "qwen3/tokenizer.json" */
        const char *name = path;
        for (const char *p = path; *p; p++) {
            if (*p == '/' && strchr(p + 1, '/'))
                name = p + 1;
        }
        printf("| %-40s | %6.2f | %8.2f | %9zu | %8.2f | %7.2f |\n", name, load_s,
               (double)text->len / 1e6 / enc_s, ntok, (double)ntok / 1e6 / dec_s,
               (double)text->len / (double)ntok);
        free(back);
    }
    free(all);
    eng_tok_free(t);
    return rc < 0;
}

int main(int argc, char **argv)
{
    size_t mb = 8;
    int first = 1, status = 0;
    if (argc > 2 && strcmp(argv[1], "-m") == 0) {
        mb = (size_t)strtoul(argv[2], NULL, 10);
        if (mb == 0 || mb > 256)
            mb = 8;
        first = 3;
    }
    as_buf text;
    as_buf_init(&text, (size_t)512 << 20);
    if (make_text(&text, "tests/fixtures/tokenizer/corpus.jsonl", mb << 20) < 0) {
        fprintf(stderr, "%s (run from the repository root)\n", as_error_msg());
        return 1;
    }
    static const char *const dflt[] = {"tests/fixtures/tokenizer/tiny_llama3.json",
                                       "tests/fixtures/tokenizer/tiny_sp.json",
                                       "tests/.cache/tokenizer/qwen3/tokenizer.json",
                                       "tests/.cache/tokenizer/gemma3/tokenizer.json"};
    printf("text: %.1f MB, one thread\n", (double)text.len / 1e6);
    printf("| %-40s | load s | enc MB/s | tokens    | dec Mtok/s | bytes/tok |\n", "tokenizer");
    printf("|------------------------------------------|--------|----------|-----------|----------|"
           "---------|\n");
    if (argc > first) {
        for (int i = first; i < argc; i++)
            status |= bench_one(argv[i], &text);
    } else {
        for (size_t i = 0; i < sizeof dflt / sizeof dflt[0]; i++) {
            if (as_path_exists(dflt[i]))
                status |= bench_one(dflt[i], &text);
        }
    }
    as_buf_free(&text);
    return status;
}
