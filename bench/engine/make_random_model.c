/* Write a random-weight model folder with the shapes of a real checkpoint,
 * for benchmarks and the GPU whole-model test (no tokenizer; the programs
 * that use it feed token ids):
 *
 *   engine_make_random_model PRESET OUT_DIR [bf16|f32]
 *
 * PRESET: llama-3.2-1b, qwen2.5-0.5b, qwen2.5-1.5b, tinyllama-1.1b (the
 * configs of ENGINE.md B1). Weights are uniform in +-1/sqrt(fan_in)
 * (embedding +-1, norms around 1, biases +-0.5) from a fixed xorshift seed,
 * written as one model.safetensors; config.json has the model_type that
 * transformers' AutoModelForCausalLM needs, so both engines load the folder. */
#include "common/error.h"
#include "common/fs.h"
#include "evaluator/engine/ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct preset {
    const char *name, *arch;
    int hidden, inter, layers, heads, kv, head_dim, vocab, tied;
    double theta, eps;
    int llama3;
} preset;

static const preset presets[] = {
    {"llama-3.2-1b", "LlamaForCausalLM", 2048, 8192, 16, 32, 8, 64, 128256, 1, 500000.0, 1e-5, 1},
    {"qwen2.5-0.5b", "Qwen2ForCausalLM", 896, 4864, 24, 14, 2, 64, 151936, 1, 1000000.0, 1e-6, 0},
    {"qwen2.5-1.5b", "Qwen2ForCausalLM", 1536, 8960, 28, 12, 2, 128, 151936, 1, 1000000.0, 1e-6, 0},
    {"tinyllama-1.1b", "LlamaForCausalLM", 2048, 5632, 22, 32, 4, 64, 32000, 0, 10000.0, 1e-5, 0},
};

typedef struct tensor {
    char name[96];
    int64_t rows, cols;     /* cols 0: a vector */
    int kind;               /* 0 matrix, 1 embedding, 2 norm, 3 bias */
} tensor;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(float a)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f) * a;
}

static int list_tensors(const preset *p, tensor *t, int max)
{
    int n = 0, l, q = p->heads * p->head_dim, kvd = p->kv * p->head_dim;
    int bias = strcmp(p->arch, "Qwen2ForCausalLM") == 0;

#define ADD(nm, r, c, k)                                                 \
    do {                                                                 \
        if (n == max)                                                    \
            return -1;                                                   \
        snprintf(t[n].name, sizeof t[n].name, "%s", nm);                 \
        t[n].rows = (r);                                                 \
        t[n].cols = (c);                                                 \
        t[n].kind = (k);                                                 \
        n++;                                                             \
    } while (0)
    ADD("model.embed_tokens.weight", p->vocab, p->hidden, 1);
    for (l = 0; l < p->layers; l++) {
        char b[96];

#define L(s) (snprintf(b, sizeof b, "model.layers.%d.%s", l, s), b)
        ADD(L("input_layernorm.weight"), p->hidden, 0, 2);
        ADD(L("post_attention_layernorm.weight"), p->hidden, 0, 2);
        ADD(L("self_attn.q_proj.weight"), q, p->hidden, 0);
        ADD(L("self_attn.k_proj.weight"), kvd, p->hidden, 0);
        ADD(L("self_attn.v_proj.weight"), kvd, p->hidden, 0);
        if (bias) {
            ADD(L("self_attn.q_proj.bias"), q, 0, 3);
            ADD(L("self_attn.k_proj.bias"), kvd, 0, 3);
            ADD(L("self_attn.v_proj.bias"), kvd, 0, 3);
        }
        ADD(L("self_attn.o_proj.weight"), p->hidden, q, 0);
        ADD(L("mlp.gate_proj.weight"), p->inter, p->hidden, 0);
        ADD(L("mlp.up_proj.weight"), p->inter, p->hidden, 0);
        ADD(L("mlp.down_proj.weight"), p->hidden, p->inter, 0);
#undef L
    }
    ADD("model.norm.weight", p->hidden, 0, 2);
    if (!p->tied)
        ADD("lm_head.weight", p->vocab, p->hidden, 0);
#undef ADD
    return n;
}

static int write_config(const preset *p, const char *dir, int bf16)
{
    char text[2048], *path = as_path_join(dir, "config.json");
    int len, rc;

    len = snprintf(text, sizeof text,
                   "{\"architectures\":[\"%s\"],\"model_type\":\"%s\",\"hidden_size\":%d,"
                   "\"intermediate_size\":%d,"
                   "\"num_hidden_layers\":%d,\"num_attention_heads\":%d,\"num_key_value_heads\":%d,"
                   "\"head_dim\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d,"
                   "\"rms_norm_eps\":%g,\"rope_theta\":%.1f,\"tie_word_embeddings\":%s,"
                   "\"hidden_act\":\"silu\",\"bos_token_id\":1,\"eos_token_id\":2,"
                   "\"torch_dtype\":\"%s\"%s}\n",
                   p->arch, strcmp(p->arch, "Qwen2ForCausalLM") == 0 ? "qwen2" : "llama",
                   p->hidden, p->inter, p->layers, p->heads, p->kv, p->head_dim, p->vocab,
                   p->llama3 ? 131072 : 32768, p->eps, p->theta, p->tied ? "true" : "false",
                   bf16 ? "bfloat16" : "float32",
                   p->llama3 ? ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":32.0,"
                               "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                               "\"original_max_position_embeddings\":8192}" : "");
    if (path == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_file_write_atomic(path, text, (size_t)len);
    free(path);
    return rc;
}

int main(int argc, char **argv)
{
    const preset *p = NULL;
    tensor *t;
    int n, i, bf16 = argc < 4 || strcmp(argv[3], "f32") != 0;
    size_t esize = bf16 ? 2 : 4, off = 0, hlen = 0, hcap = 1 << 20;
    char *header, *path;
    FILE *fp;

    for (i = 0; argc > 1 && i < (int)(sizeof presets / sizeof presets[0]); i++)
        if (strcmp(argv[1], presets[i].name) == 0)
            p = &presets[i];
    if (argc < 3 || p == NULL) {
        fprintf(stderr, "usage: engine_make_random_model llama-3.2-1b|qwen2.5-0.5b|qwen2.5-1.5b|"
                        "tinyllama-1.1b OUT_DIR [bf16|f32]\n");
        return 2;
    }
    t = calloc(1024, sizeof *t);
    header = malloc(hcap);
    if (t == NULL || header == NULL || (n = list_tensors(p, t, 1024)) < 0 || as_mkdir_p(argv[2]) < 0 ||
        write_config(p, argv[2], bf16) < 0) {
        fprintf(stderr, "engine_make_random_model: %s\n", as_error_msg());
        return 1;
    }
    hlen += (size_t)snprintf(header, hcap, "{");
    for (i = 0; i < n; i++) {
        size_t bytes = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1) * esize;

        if (t[i].cols)
            hlen += (size_t)snprintf(header + hlen, hcap - hlen,
                                     "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}",
                                     i ? "," : "", t[i].name, bf16 ? "BF16" : "F32",
                                     (long long)t[i].rows, (long long)t[i].cols, off, off + bytes);
        else
            hlen += (size_t)snprintf(header + hlen, hcap - hlen,
                                     "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}",
                                     i ? "," : "", t[i].name, bf16 ? "BF16" : "F32",
                                     (long long)t[i].rows, off, off + bytes);
        off += bytes;
    }
    hlen += (size_t)snprintf(header + hlen, hcap - hlen, "}");
    while ((8 + hlen) % 8 != 0)
        header[hlen++] = ' ';
    if ((path = as_path_join(argv[2], "model.safetensors")) == NULL || (fp = fopen(path, "wb")) == NULL) {
        fprintf(stderr, "engine_make_random_model: cannot write %s\n", path ? path : argv[2]);
        return 1;
    }
    {
        uint64_t h64 = hlen;
        unsigned char le[8];
        int k;

        for (k = 0; k < 8; k++)
            le[k] = (unsigned char)(h64 >> (8 * k));
        fwrite(le, 1, 8, fp);
        fwrite(header, 1, hlen, fp);
    }
    for (i = 0; i < n; i++) {
        size_t count = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1), j;
        float a = t[i].kind == 1 ? 1.0f : t[i].kind == 3 ? 0.5f : t[i].kind == 2 ? 0.3f
                                                                : 1.0f / sqrtf((float)t[i].cols);

        for (j = 0; j < count; j++) {
            float v = uniform(a) + (t[i].kind == 2 ? 1.0f : 0.0f);

            if (bf16) {
                uint16_t b = eng_f32_to_bf16(v);

                fwrite(&b, 2, 1, fp);
            } else {
                fwrite(&v, 4, 1, fp);
            }
        }
    }
    if (fclose(fp) != 0) {
        fprintf(stderr, "engine_make_random_model: writing %s failed\n", path);
        return 1;
    }
    printf("%s: %s, %d tensors, %.2f GB of %s weights\n", argv[2], p->name, n, (double)off / 1e9,
           bf16 ? "bf16" : "f32");
    free(path);
    free(header);
    free(t);
    return 0;
}
