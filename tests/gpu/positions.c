/* The engine's next-token argmax at every position of a token sequence,
 * and the logits at its last position, for comparison with transformers
 * on the same weights (tests/gpu/vs_transformers.py):
 *
 *   gpu_positions MODEL_DIR IDS_FILE cpu|gpu > OUT.json
 *
 * IDS_FILE holds one JSON array of token ids. Every id is fed in one step
 * (teacher forcing: position t sees ids[0..t]), on the CPU reference
 * (eng_forward_rows) or the batched GPU step (eng_gpu_batch_step, one
 * slot); OUT.json is {"argmax": [...], "last_logits": [...]}. Exit 77 when
 * gpu is asked for and no GPU is usable. */
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/gpu/forward_gpu.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/model.h"
#include "evaluator/engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_FILE_MAX ((size_t)1 << 20)

/* ids[0..n) from the JSON array in 'path' (caller frees). */
static int read_ids(const char *path, int vocab, int32_t **ids, int *n)
{
    char *text = NULL;
    size_t len, i;
    json_t *arr = NULL;
    int rc;

    *ids = NULL;
    if ((rc = as_file_read(&text, &len, path, IDS_FILE_MAX)) < 0 ||
        (rc = as_json_parse(&arr, text, len, path)) < 0)
        goto out;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rc = as_error_set(AS_EINVAL, "%s: not a JSON array of token ids", path);
        goto out;
    }
    *n = (int)json_array_size(arr);
    if ((*ids = malloc((size_t)*n * sizeof **ids)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);

        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= vocab) {
            rc = as_error_set(AS_EINVAL, "%s: item %zu is not a token id below %d", path, i, vocab);
            goto out;
        }
        (*ids)[i] = (int32_t)json_integer_value(v);
    }
out:
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
    }
    json_decref(arr);
    free(text);
    return rc;
}

/* Every position on the CPU reference: argmax[t], and the logits of the
 * last position into 'last'. */
static int run_cpu(const eng_model *m, const int32_t *ids, int n, int32_t *argmax, float *logits)
{
    eng_state *s = NULL;
    eng_work *w = NULL;
    eng_row *rows = calloc((size_t)n, sizeof *rows);
    size_t V = (size_t)m->cfg.vocab;
    int t, rc;

    if (rows == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = eng_state_new(&s, m, n)) == 0 && (rc = eng_work_new(&w, m, n, n < 64 ? n : 64)) == 0) {
        for (t = 0; t < n; t++)
            rows[t] = (eng_row){s, t, ids[t], logits + (size_t)t * V};
        rc = eng_forward_rows(w, rows, n);
        for (t = 0; rc == 0 && t < n; t++)
            argmax[t] = eng_argmax(logits + (size_t)t * V, (int)V);
    }
    eng_work_free(w);
    eng_state_free(s);
    free(rows);
    return rc;
}

/* The same through one slot of the batched GPU step. */
static int run_gpu(const eng_model *m, const int32_t *ids, int n, int32_t *argmax, float *logits)
{
    eng_gpu_batch *g = NULL;
    eng_gpu_step st;
    int32_t *slot = calloc((size_t)n, sizeof *slot), *pos = malloc((size_t)n * sizeof *pos);
    int32_t *want = malloc((size_t)n * sizeof *want);
    double *lp = calloc((size_t)n, sizeof *lp);
    int t, rc;

    if (!slot || !pos || !want || !lp) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (t = 0; t < n; t++)
        pos[t] = want[t] = t;
    if ((rc = eng_gpu_batch_new(&g, m, 1, n, n)) < 0)
        goto out;
    memset(&st, 0, sizeof st);
    st.tok = ids;
    st.slot = slot;
    st.pos = pos;
    st.n = n;
    st.want = want;
    st.k = n;
    st.argmax = argmax;
    st.logprob = lp;
    st.logits = logits;
    rc = eng_gpu_batch_step(g, &st);
out:
    eng_gpu_batch_free(g);
    free(slot);
    free(pos);
    free(want);
    free(lp);
    return rc;
}

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    int32_t *ids = NULL, *argmax = NULL;
    float *logits = NULL;
    char why[160];
    json_t *out, *am, *last;
    int n = 0, t, gpu, rc;

    if (argc != 4 || (strcmp(argv[3], "cpu") != 0 && strcmp(argv[3], "gpu") != 0)) {
        fprintf(stderr, "usage: gpu_positions MODEL_DIR IDS_FILE cpu|gpu\n");
        return 2;
    }
    gpu = strcmp(argv[3], "gpu") == 0;
    if (gpu && !eng_gpu_available(why, sizeof why)) {
        fprintf(stderr, "gpu_positions: skipped: %s\n", why);
        return 77;
    }
    if ((rc = eng_model_open(&m, argv[1], 0, ENG_DT_COUNT)) < 0 ||
        (rc = read_ids(argv[2], m->cfg.vocab, &ids, &n)) < 0)
        goto out;
    argmax = malloc((size_t)n * sizeof *argmax);
    logits = malloc((size_t)n * m->cfg.vocab * sizeof *logits);
    if (argmax == NULL || logits == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = gpu ? run_gpu(m, ids, n, argmax, logits) : run_cpu(m, ids, n, argmax, logits)) < 0)
        goto out;
    out = json_object();
    am = json_array();
    last = json_array();
    for (t = 0; t < n; t++)
        json_array_append_new(am, json_integer(argmax[t]));
    for (t = 0; t < m->cfg.vocab; t++)
        json_array_append_new(last, json_real(logits[(size_t)(n - 1) * m->cfg.vocab + t]));
    json_object_set_new(out, "argmax", am);
    json_object_set_new(out, "last_logits", last);
    as_json_print(stdout, out);
    json_decref(out);
out:
    if (rc < 0)
        fprintf(stderr, "gpu_positions: %s\n", as_error_msg());
    free(ids);
    free(argmax);
    free(logits);
    eng_model_free(m);
    return rc < 0 ? 1 : 0;
}
