/* Fuzz target for a whole model folder: the input is a config.json and a
 * model.safetensors (a 2-byte little-endian length of the config, the
 * config, then the safetensors file). They are written to a scratch folder
 * and opened as a model, so the checks of tensors against the config
 * (names, shapes, dtypes, missing and extra tensors, tied heads, biases)
 * see arbitrary pairs; a model that opens then runs a short prefill and
 * two decode steps, and its logits must be readable. Nothing may crash or
 * leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluator/engine/forward.h"
#include "evaluator/engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char config_path[96], weights_path[96];

static void cleanup(void)
{
    unlink(config_path);
    unlink(weights_path);
    rmdir(dir);
}

static void put(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    const float *logits = NULL;
    volatile float sink = 0;
    size_t clen;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/assay-fuzz-model-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(config_path, sizeof config_path, "%s/config.json", dir);
        snprintf(weights_path, sizeof weights_path, "%s/model.safetensors", dir);
        atexit(cleanup);
    }
    if (size < 2)
        return 0;
    clen = (size_t)data[0] | (size_t)data[1] << 8;
    if (clen > size - 2)
        return 0;
    put(config_path, data + 2, clen);
    put(weights_path, data + 2 + clen, size - 2 - clen);
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
