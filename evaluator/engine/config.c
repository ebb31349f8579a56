/* Reading config.json / generation_config.json into eng_config. */
#include "evaluator/engine/config.h"

#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM_MAX (1 << 20)        /* a cap on every size field */

static int get_dim(const json_t *o, const char *key, int required, int dflt, int *out,
                   const char *what)
{
    int64_t v;
    int rc;

    if (json_is_null(json_object_get(o, key)) && !required) {
        *out = dflt;
        return 0;
    }
    if ((rc = as_json_get_int(o, key, required, &v)) == AS_ENOTFOUND) {
        *out = dflt;
        return 0;
    }
    if (rc < 0)
        return as_error_wrap(rc, "%s", what);
    if (v <= 0 || v > DIM_MAX)
        return as_error_set(AS_EINVAL, "%s: %s = %lld is out of range", what, key, (long long)v);
    *out = (int)v;
    return 0;
}

static int get_real(const json_t *o, const char *key, double dflt, double *out, const char *what)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return as_error_set(AS_EINVAL, "%s: %s must be a number", what, key);
    *out = json_number_value(v);
    return 0;
}

static int get_flag(const json_t *o, const char *key, int dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Add the ids of an eos_token_id value (int or list) to cfg. */
static int add_eos(eng_config *cfg, const json_t *v, const char *what)
{
    size_t i, j;

    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        for (j = 0; j < (size_t)cfg->n_eos; j++)
            if (cfg->eos_ids[j] == json_integer_value(v))
                return 0;
        if (json_integer_value(v) < 0 || json_integer_value(v) >= cfg->vocab)
            return as_error_set(AS_EINVAL, "%s: eos_token_id %lld is outside the vocabulary", what,
                                (long long)json_integer_value(v));
        if (cfg->n_eos >= ENG_MAX_EOS)
            return as_error_set(AS_EINVAL, "%s: more than %d eos_token_id values", what, ENG_MAX_EOS);
        cfg->eos_ids[cfg->n_eos++] = (int)json_integer_value(v);
        return 0;
    }
    if (!json_is_array(v))
        return as_error_set(AS_EINVAL, "%s: eos_token_id must be an integer or a list", what);
    for (i = 0; i < json_array_size(v); i++) {
        int rc;

        if (!json_is_integer(json_array_get(v, i)))
            return as_error_set(AS_EINVAL, "%s: eos_token_id must be an integer or a list", what);
        if ((rc = add_eos(cfg, json_array_get(v, i), what)) < 0)
            return rc;
    }
    return 0;
}

static int parse_rope_scaling(eng_config *c, const json_t *rs, const char *what)
{
    const char *type = NULL;
    double orig = 0;
    int rc;

    c->rope_kind = ENG_ROPE_DEFAULT;
    if (rs == NULL || json_is_null(rs))
        return 0;
    if (!json_is_object(rs))
        return as_error_set(AS_EINVAL, "%s: rope_scaling must be an object or null", what);
    type = json_string_value(json_object_get(rs, "rope_type"));
    if (type == NULL)
        type = json_string_value(json_object_get(rs, "type"));
    if (type == NULL)
        return as_error_set(AS_EINVAL, "%s: rope_scaling has no rope_type", what);
    if (strcmp(type, "default") == 0)
        return 0;
    if ((rc = get_real(rs, "factor", 0, &c->rope_factor, what)) < 0)
        return rc;
    if (strcmp(type, "linear") == 0) {
        c->rope_kind = ENG_ROPE_LINEAR;
    } else if (strcmp(type, "llama3") == 0) {
        c->rope_kind = ENG_ROPE_LLAMA3;
        if ((rc = get_real(rs, "low_freq_factor", 0, &c->rope_low, what)) < 0 ||
            (rc = get_real(rs, "high_freq_factor", 0, &c->rope_high, what)) < 0 ||
            (rc = get_real(rs, "original_max_position_embeddings", 0, &orig, what)) < 0)
            return rc;
        if (c->rope_low <= 0 || c->rope_high <= c->rope_low || orig < 1 || orig > DIM_MAX)
            return as_error_set(AS_EINVAL,
                                "%s: llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor "
                                "and original_max_position_embeddings", what);
        c->rope_orig_max = (int)orig;
    } else {
        return as_error_set(AS_EUNSUPPORTED, "%s: rope_scaling type '%.32s' is not supported "
                            "(default, linear and llama3 are)", what, type);
    }
    if (!(c->rope_factor >= 1.0 && c->rope_factor <= 1e6))
        return as_error_set(AS_EINVAL, "%s: rope_scaling factor must be >= 1", what);
    return 0;
}

int eng_config_parse(eng_config *c, const char *text, size_t len, const char *what)
{
    json_t *root = NULL, *archs, *rope;
    const char *arch, *act = "silu", *dt;
    double eps = 1e-6, theta = 10000.0;
    int rc, bos = -1, sw = 0, use_sw;

    memset(c, 0, sizeof *c);
    if ((rc = as_json_parse(&root, text, len, what)) < 0)
        return rc;
    if (!json_is_object(root)) {
        rc = as_error_set(AS_EINVAL, "%s: not a JSON object", what);
        goto out;
    }
    archs = json_object_get(root, "architectures");
    arch = json_string_value(json_array_get(archs, 0));
    if (arch == NULL) {
        rc = as_error_set(AS_EINVAL, "%s: no \"architectures\" list", what);
        goto out;
    }
    if (strcmp(arch, "LlamaForCausalLM") == 0)
        c->arch = ENG_ARCH_LLAMA;
    else if (strcmp(arch, "Qwen2ForCausalLM") == 0)
        c->arch = ENG_ARCH_QWEN2;
    else if (strcmp(arch, "MistralForCausalLM") == 0)
        c->arch = ENG_ARCH_MISTRAL;
    else {
        rc = as_error_set(AS_EUNSUPPORTED, "%s: architecture '%.64s' is not supported "
                          "(LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM are)", what, arch);
        goto out;
    }
    snprintf(c->arch_name, sizeof c->arch_name, "%s", arch);
    if ((rc = get_dim(root, "hidden_size", 1, 0, &c->hidden, what)) < 0 ||
        (rc = get_dim(root, "intermediate_size", 1, 0, &c->intermediate, what)) < 0 ||
        (rc = get_dim(root, "num_hidden_layers", 1, 0, &c->n_layers, what)) < 0 ||
        (rc = get_dim(root, "num_attention_heads", 1, 0, &c->n_heads, what)) < 0 ||
        (rc = get_dim(root, "num_key_value_heads", 0, c->n_heads, &c->n_kv_heads, what)) < 0 ||
        (rc = get_dim(root, "vocab_size", 1, 0, &c->vocab, what)) < 0 ||
        (rc = get_dim(root, "max_position_embeddings", 0, 2048, &c->max_pos, what)) < 0)
        goto out;
    if ((rc = get_dim(root, "head_dim", 0, c->hidden / c->n_heads, &c->head_dim, what)) < 0)
        goto out;
    if (c->head_dim <= 0 || c->head_dim % 2 != 0 || c->head_dim > 1024) {
        rc = as_error_set(AS_EINVAL, "%s: head_dim %d must be even and at most 1024", what, c->head_dim);
        goto out;
    }
    if (c->n_heads % c->n_kv_heads != 0) {
        rc = as_error_set(AS_EINVAL, "%s: num_attention_heads %d is not a multiple of "
                          "num_key_value_heads %d", what, c->n_heads, c->n_kv_heads);
        goto out;
    }
    /* transformers 5 writes rope_theta and the scaling into one
     * "rope_parameters" object; earlier versions "rope_theta" and
     * "rope_scaling" at the top. */
    rope = json_object_get(root, "rope_parameters");
    if (rope != NULL && !json_is_null(rope) && !json_is_object(rope)) {
        rc = as_error_set(AS_EINVAL, "%s: rope_parameters must be an object", what);
        goto out;
    }
    if (json_is_object(rope) && json_object_get(rope, "rope_theta") != NULL)
        rc = get_real(rope, "rope_theta", 10000.0, &theta, what);
    else
        rc = get_real(root, "rope_theta", 10000.0, &theta, what);
    if (rc < 0 || (rc = get_real(root, "rms_norm_eps", 1e-6, &eps, what)) < 0)
        goto out;
    if (!(eps > 0 && eps < 1) || !(theta > 1)) {
        rc = as_error_set(AS_EINVAL, "%s: rms_norm_eps or rope_theta out of range", what);
        goto out;
    }
    c->eps = (float)eps;
    c->rope_theta = theta;
    if ((rc = parse_rope_scaling(c, json_is_object(rope) ? rope : json_object_get(root, "rope_scaling"),
                                 what)) < 0)
        goto out;
    if ((rc = as_json_get_str(root, "hidden_act", 0, &act)) < 0 && rc != AS_ENOTFOUND)
        goto out;
    if (strcmp(act, "silu") != 0) {
        rc = as_error_set(AS_EUNSUPPORTED, "%s: hidden_act '%.32s' is not supported (silu is)", what, act);
        goto out;
    }
    c->tied = get_flag(root, "tie_word_embeddings", 0);
    c->qkv_bias = c->arch == ENG_ARCH_QWEN2 || get_flag(root, "attention_bias", 0);
    c->o_bias = c->arch == ENG_ARCH_LLAMA && get_flag(root, "attention_bias", 0);
    c->mlp_bias = c->arch == ENG_ARCH_LLAMA && get_flag(root, "mlp_bias", 0);
    /* Mistral applies sliding_window whenever it is set; Qwen2 only with
     * use_sliding_window. */
    use_sw = c->arch == ENG_ARCH_MISTRAL || (c->arch == ENG_ARCH_QWEN2 &&
                                             get_flag(root, "use_sliding_window", 0));
    if (use_sw && (rc = get_dim(root, "sliding_window", 0, 0, &sw, what)) < 0)
        goto out;
    c->sliding_window = use_sw ? sw : 0;
    /* Qwen2 layers below max_window_layers (Qwen2Config's default: 28)
     * attend to everything. */
    if (use_sw && c->arch == ENG_ARCH_QWEN2) {
        const json_t *mw = json_object_get(root, "max_window_layers");

        c->sliding_from_layer = 28;
        if (json_is_integer(mw) && json_integer_value(mw) >= 0 && json_integer_value(mw) <= DIM_MAX)
            c->sliding_from_layer = (int)json_integer_value(mw);
        else if (mw != NULL && !json_is_null(mw)) {
            rc = as_error_set(AS_EINVAL, "%s: max_window_layers must be a whole number >= 0", what);
            goto out;
        }
    }
    {
        int64_t b;
        const json_t *bv = json_object_get(root, "bos_token_id");

        if (json_is_integer(bv) && (b = json_integer_value(bv)) >= 0 && b < c->vocab)
            bos = (int)b;
    }
    c->bos_id = bos;
    if ((rc = add_eos(c, json_object_get(root, "eos_token_id"), what)) < 0)
        goto out;
    if ((dt = json_string_value(json_object_get(root, "torch_dtype"))) != NULL ||
        (dt = json_string_value(json_object_get(root, "dtype"))) != NULL)
        snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dt);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int eng_config_merge_generation(eng_config *c, const char *text, size_t len, const char *what)
{
    json_t *root = NULL;
    int rc;

    if ((rc = as_json_parse(&root, text, len, what)) < 0)
        return rc;
    rc = json_is_object(root) ? add_eos(c, json_object_get(root, "eos_token_id"), what)
                              : as_error_set(AS_EINVAL, "%s: not a JSON object", what);
    json_decref(root);
    return rc;
}

int eng_config_load(eng_config *out, const char *dir)
{
    char *path, *text = NULL;
    size_t len;
    int rc;

    if ((path = as_path_join(dir, "config.json")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_file_read(&text, &len, path, ENG_CONFIG_MAX);
    if (rc == 0)
        rc = eng_config_parse(out, text, len, path);
    free(text);
    free(path);
    text = NULL;
    if (rc < 0)
        return rc;
    if ((path = as_path_join(dir, "generation_config.json")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_file_read(&text, &len, path, ENG_CONFIG_MAX);
    if (rc == AS_ENOTFOUND)
        rc = 0;
    else if (rc == 0)
        rc = eng_config_merge_generation(out, text, len, path);
    free(text);
    free(path);
    return rc;
}
