/* Fuzz target for the text code of the metrics: the rouge_score tokenizer
 * and Porter stemmer, ROUGE over arbitrary bytes, Python lower(), the
 * sacrebleu tokenizers and SQuAD normalization. The input's first half is
 * the reference, the rest the prediction. Any crash, leak or sanitizer
 * report is a bug; a stem longer than its word aborts. */
#include "metrics/bleu.h"
#include "metrics/match.h"
#include "metrics/rouge.h"
#include "metrics/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t half = size / 2, i;
    static const int types[] = {1, 2, 3, MET_ROUGE_L, MET_ROUGE_LSUM};
    met_prf out[5];
    met_toks t;
    met_rouge *r;
    char *low = NULL;
    size_t lowlen = 0, lowcap = 0;
    int stem;

    met_toks_init(&t);
    for (stem = 0; stem < 2; stem++) {
        if (met_rouge_tokenize(&t, s, size, stem) == 0) {
            for (i = 0; i < t.n; i++) {
                const char *w = met_toks_at(&t, i);
                size_t n = strlen(w);
                char *o = malloc(n + 1);
                if (o && met_porter_stem(w, n, o) > n)
                    abort();
                free(o);
            }
        }
        if (met_rouge_new(&r, stem) == 0) {
            met_rouge_score(r, s, half, s + half, size - half, types, 5, out);
            for (i = 0; i < 5; i++)
                if (!(out[i].fmeasure >= 0 && out[i].fmeasure <= 1))
                    abort();
            met_rouge_free(r);
        }
    }
    met_toks_free(&t);
    met_lower_utf8(s, size, &low, &lowlen, &lowcap);
    free(low);
    {
        met_bleu_tok tok;
        for (tok = MET_BLEU_13A; tok <= MET_BLEU_CHAR; tok++) {
            met_bleu_opts o = {tok, MET_SMOOTH_EXP, -1, 1};
            met_bleu *b;
            const char *ref = s + half;
            size_t rl = size - half;
            met_bleu_stats st;
            met_bleu_result res;
            if (met_bleu_new(&b, &o) < 0)
                continue;
            if (met_bleu_segment(b, s, half, &ref, &rl, 1, &st) == 0)
                met_bleu_score(&st, &o, 1, &res);
            met_bleu_free(b);
        }
    }
    {
        met_matcher *m;
        double p, rc, f;
        if (met_matcher_new(&m, NULL) == 0) {
            met_squad_f1(m, s, half, s + half, size - half, &p, &rc, &f);
            met_matcher_free(m);
        }
    }
    return 0;
}
