/* Fuzz target for a whole model folder: the input is a config.json and
 * either one model.safetensors or an index with two shards. Layout: a
 * 2-byte little-endian length and the config; a 2-byte length and the
 * model.safetensors.index.json (0: no index); without an index the rest is
 * model.safetensors, with one a 2-byte length and the first shard, the
 * rest the second (model-0000N-of-00002.safetensors). The files are written
 * to a scratch folder (nothing else in it) and opened as a model, so the
 * index (shard names, the weight map against the shards' tensors) and the
 * checks of tensors against the config (names, shapes, dtypes, missing and
 * extra tensors, tied heads, biases) see arbitrary inputs; a model that
 * opens then runs a short prefill and two decode steps, and its logits
 * must be readable. Nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluator/engine/forward.h"
#include "evaluator/engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_CONFIG, F_SINGLE, F_INDEX, F_SHARD1, F_SHARD2, F_COUNT };

static const char *const names[F_COUNT] = {
    "config.json", "model.safetensors", "model.safetensors.index.json",
    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
static char dir[64];
static char paths[F_COUNT][128];

static void remove_files(void)
{
    int i;

    for (i = 0; i < F_COUNT; i++)
        unlink(paths[i]);
}

static void cleanup(void)
{
    remove_files();
    rmdir(dir);
}

static void put(int which, const uint8_t *p, size_t n)
{
    FILE *f = fopen(paths[which], "wb");

    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

/* The next 2-byte length and the bytes it counts, from *p (left *n);
 * 0 when the input is too short. */
static int take(const uint8_t **p, size_t *n, const uint8_t **part, size_t *len)
{
    if (*n < 2)
        return 0;
    *len = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
    if (*len > *n - 2)
        return 0;
    *part = *p + 2;
    *p += 2 + *len;
    *n -= 2 + *len;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    const float *logits = NULL;
    volatile float sink = 0;
    const uint8_t *config, *index, *shard1;
    size_t clen, ilen, slen;
    int i;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/assay-fuzz-model-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        for (i = 0; i < F_COUNT; i++)
            snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        atexit(cleanup);
    }
    if (!take(&data, &size, &config, &clen) || !take(&data, &size, &index, &ilen))
        return 0;
    if (ilen > 0 && !take(&data, &size, &shard1, &slen))
        return 0;
    remove_files();
    put(F_CONFIG, config, clen);
    if (ilen == 0) {
        put(F_SINGLE, data, size);
    } else {
        put(F_INDEX, index, ilen);
        put(F_SHARD1, shard1, slen);
        put(F_SHARD2, data, size);
    }
    if (eng_model_open(&m, dir, 1, ENG_DT_COUNT) < 0)
        return 0;
    if (eng_state_new(&s, m, 4) == 0) {
        int32_t prompt[2] = {0, m->cfg.vocab - 1};
        if (eng_prefill(s, prompt, 2, &logits) == 0 && eng_forward(s, 1 % m->cfg.vocab, &logits) == 0 &&
            eng_forward(s, 0, &logits) == 0)
            sink = logits[0] + logits[m->cfg.vocab - 1];
        eng_state_free(s);
    }
    (void)sink;
    eng_model_free(m);
    return 0;
}
