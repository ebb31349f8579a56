/* assay generate: run a local Hugging Face model folder on one prompt with
 * the engine (evaluator/engine), for a quick manual check of a checkpoint. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/engine/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char cli_generate_usage[] =
    "usage: assay generate --model DIR --prompt TEXT [--max-new-tokens N] [--greedy]\n"
    "                      [--chat] [--json] [--temperature T] [--top-k K] [--top-p P]\n"
    "                      [--seed S] [--stop TEXT]... [--device cpu|gpu|auto]\n"
    "                      [--threads N] [--dtype auto|float32|bfloat16]\n"
    "       assay generate --model DIR --prompt TEXT --continuation TEXT [--json] ...\n"
    "       assay generate --model DIR --loglik FILE [--batch N] [--device ...] ...\n"
    "\n"
    "Generate a continuation of TEXT with the local engine. DIR is a Hugging Face\n"
    "model folder (config.json, model.safetensors or shards, tokenizer.json;\n"
    "LlamaForCausalLM, Qwen2ForCausalLM or MistralForCausalLM in F32, F16 or BF16).\n"
    "\n"
    "--max-new-tokens N  at most N new tokens (default 128)\n"
    "--greedy            always take the most likely token (same as --temperature 0)\n"
    "--chat              wrap TEXT as a user message in the model's chat template\n"
    "--temperature T     sampling temperature (default 1.0); --top-k K, --top-p P\n"
    "                    narrow the candidates; --seed S makes sampling repeatable\n"
    "                    (default seed 0)\n"
    "--stop TEXT         end the output before TEXT (up to 8); EOS ids always stop\n"
    "--device            cpu, gpu or auto (default auto); without a usable GPU\n"
    "                    engine a gpu request runs on the CPU and says so\n"
    "--threads N         CPU threads of the reference forward pass (default: all)\n"
    "--dtype             weights kept as stored (auto), or converted at load\n"
    "--continuation C    instead of generating, score C after TEXT: its\n"
    "                    log-likelihood, whether greedy decoding gives it, its\n"
    "                    token count (lm-evaluation-harness loglikelihood)\n"
    "--loglik FILE       score many: FILE has one JSON object per line,\n"
    "                    {\"context\": ..., \"continuation\": ...}; prints one line\n"
    "                    {\"logprob\",\"greedy\",\"continuation_tokens\"} for each, in\n"
    "                    order, scored --batch N at a time (default 16) by\n"
    "                    continuous batching; nothing is printed if a line fails\n"
    "--json              print {\"text\",\"ids\",\"prompt_tokens\",\"completion_tokens\",\n"
    "                    \"finish_reason\",\"ttft_ms\",\"per_token_ms\",\"total_ms\",\"device\"}\n";

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

static void print_json(const eng_engine *e, const eng_gen_result *res)
{
    json_t *o = json_object(), *ids = json_array();
    size_t i;

    for (i = 0; i < res->n_ids; i++)
        json_array_append_new(ids, json_integer(res->ids[i]));
    json_object_set_new(o, "text", json_stringn(res->text, res->text_len));
    json_object_set_new(o, "ids", ids);
    as_json_set_int(o, "prompt_tokens", res->prompt_tokens);
    as_json_set_int(o, "completion_tokens", res->completion_tokens);
    as_json_set_str(o, "finish_reason", res->finish);
    as_json_set_num(o, "ttft_ms", res->ttft_ms);
    as_json_set_num(o, "per_token_ms", res->per_token_ms);
    as_json_set_num(o, "total_ms", res->total_ms);
    as_json_set_str(o, "device", e->device);
    as_json_print(stdout, o);
    json_decref(o);
}

/* Print the log-likelihood of 'cont' after 'prompt'; closes 'e'. */
static int score(eng_engine *e, const char *prompt, const char *cont, int json)
{
    double lp = 0;
    int greedy = 0;
    size_t n = 0;

    if (eng_engine_loglik(e, prompt, cont, &lp, &greedy, &n) < 0) {
        eng_engine_close(e);
        return cli_fail();
    }
    if (json) {
        json_t *o = json_object();

        as_json_set_num(o, "logprob", lp);
        json_object_set_new(o, "greedy", json_boolean(greedy));
        as_json_set_int(o, "continuation_tokens", (int64_t)n);
        as_json_print(stdout, o);
        json_decref(o);
    } else {
        printf("logprob %.6f over %zu tokens%s\n", lp, n, greedy ? " (the greedy continuation)" : "");
    }
    eng_engine_close(e);
    return CLI_OK;
}

int cli_cmd_generate(cli_ctx *ctx, int argc, char **argv)
{
    const char *dir = NULL, *continuation = NULL, *loglik = NULL;
    int slots = 16;
    eng_engine_opts opts = {ENG_DEVICE_AUTO, 0, 0, ENG_DT_COUNT, 1};
    eng_request req;
    eng_engine *e = NULL;
    eng_gen_result res;
    int json = 0, i;
    long n;
    double d;

    (void)ctx;
    memset(&req, 0, sizeof req);
    req.max_new_tokens = 128;
    req.sampling.temperature = 1.0f;
    req.sampling.top_p = 1.0f;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "--greedy") != 0 && strcmp(a, "--chat") != 0 && strcmp(a, "--json") != 0;

        if (takes && v == NULL)
            return cli_usage("generate", "%s needs a value", a);
        if (strcmp(a, "--model") == 0)
            dir = v;
        else if (strcmp(a, "--prompt") == 0)
            req.prompt = v;
        else if (strcmp(a, "--continuation") == 0)
            continuation = v;
        else if (strcmp(a, "--loglik") == 0)
            loglik = v;
        else if (strcmp(a, "--batch") == 0) {
            if (parse_long(v, 1, 4096, &n) < 0)
                return cli_usage("generate", "--batch: a whole number from 1 to 4096");
            slots = (int)n;
        }
        else if (strcmp(a, "--greedy") == 0)
            req.sampling.greedy = 1;
        else if (strcmp(a, "--chat") == 0)
            req.chat = 1;
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--max-new-tokens") == 0) {
            if (parse_long(v, 1, 1000000, &n) < 0)
                return cli_usage("generate", "--max-new-tokens: a whole number from 1");
            req.max_new_tokens = (int)n;
        } else if (strcmp(a, "--temperature") == 0) {
            if (parse_double(v, 0, 100, &d) < 0)
                return cli_usage("generate", "--temperature: a number from 0 to 100");
            req.sampling.temperature = (float)d;
        } else if (strcmp(a, "--top-k") == 0) {
            if (parse_long(v, 0, 1000000000, &n) < 0)
                return cli_usage("generate", "--top-k: a whole number from 0");
            req.sampling.top_k = (int)n;
        } else if (strcmp(a, "--top-p") == 0) {
            if (parse_double(v, 1e-9, 1, &d) < 0)
                return cli_usage("generate", "--top-p: a number in (0, 1]");
            req.sampling.top_p = (float)d;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_long(v, 0, 2147483647, &n) < 0)
                return cli_usage("generate", "--seed: a whole number from 0");
            req.sampling.seed = (uint64_t)n;
        } else if (strcmp(a, "--stop") == 0) {
            if (req.n_stop == ENG_MAX_STOP_STRINGS)
                return cli_usage("generate", "at most %d --stop strings", ENG_MAX_STOP_STRINGS);
            req.stop[req.n_stop++] = v;
        } else if (strcmp(a, "--device") == 0) {
            if (eng_device_parse(v, &opts.device) < 0)
                return cli_usage("generate", "--device: cpu, gpu or auto");
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_long(v, 1, 256, &n) < 0)
                return cli_usage("generate", "--threads: a whole number from 1 to 256");
            opts.nthreads = (int)n;
        } else if (strcmp(a, "--dtype") == 0) {
            if (eng_keep_dtype_parse(v, &opts.keep) < 0)
                return cli_usage("generate", "--dtype: auto, float32 or bfloat16");
        } else {
            return cli_usage("generate", "unknown option '%s'", a);
        }
        if (takes)
            i++;
    }
    if (dir == NULL || (req.prompt == NULL && loglik == NULL))
        return cli_usage("generate", "--model and --prompt (or --loglik) are required");
    if (loglik != NULL && (req.prompt != NULL || continuation != NULL))
        return cli_usage("generate", "--loglik takes its contexts from FILE, not --prompt");
    if (loglik != NULL)
        opts.slots = slots;
    if (eng_engine_open(&e, dir, &opts) < 0)
        return cli_fail();
    if (eng_engine_note(e) != NULL)
        fprintf(stderr, "assay: %s\n", eng_engine_note(e));
    if (loglik != NULL) {
        int rc = cli_generate_loglik(e, loglik, slots);

        eng_engine_close(e);
        return rc;
    }
    if (continuation != NULL)
        return score(e, req.prompt, continuation, json);
    if (eng_engine_generate(e, &req, &res) < 0) {
        eng_engine_close(e);
        return cli_fail();
    }
    if (json)
        print_json(e, &res);
    else
        printf("%.*s\n", (int)res.text_len, res.text);
    eng_gen_result_clear(&res);
    eng_engine_close(e);
    return CLI_OK;
}
