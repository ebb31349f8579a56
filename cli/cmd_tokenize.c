/* assay tokenize: run the local engine's tokenizer over JSON lines, so that
 * users can compare its ids with Hugging Face `tokenizers`. */
#include "cli/cli.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/fs.h"
#include "evaluator/engine/chat_template.h"
#include "evaluator/engine/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES ((size_t)16 << 20)

const char cli_tokenize_usage[] =
    "usage: assay tokenize --tokenizer FILE|DIR [--decode] [--no-special]\n"
    "                      [--split-special] [--skip-special] [--chat]\n"
    "\n"
    "Read JSON lines on standard input and print one JSON line for each:\n"
    "  {\"text\": \"...\"}      ->  {\"ids\": [...]}\n"
    "  with --decode: {\"ids\": [...]}  ->  {\"text\": \"...\"}\n"
    "  with --chat: {\"messages\": [{\"role\",\"content\"}...]}  ->\n"
    "              {\"text\": rendered chat prompt, \"ids\": [...]}\n"
    "\n"
    "FILE is a Hugging Face tokenizer.json (a tokenizer_config.json next to it is\n"
    "read too); DIR is a model folder holding both.\n"
    "\n"
    "--no-special     do not add the post-processor's BOS/EOS (HF\n"
    "                 add_special_tokens=False)\n"
    "--split-special  treat special tokens written in the text as plain text\n"
    "--skip-special   with --decode, leave special tokens out of the text\n"
    "--chat           render the messages with the model's chat template\n"
    "                 (Llama 3, Qwen2/2.5/3, Zephyr/TinyLlama, Gemma) and add the\n"
    "                 assistant header\n";

static int load(eng_tokenizer **t, const char *path)
{
    if (as_path_is_dir(path))
        return eng_tok_load_dir(t, path);
    /* tokenizer_config.json next to the file */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    char *dir = slash ? strndup(path, dirlen) : strdup(".");
    char *cfg = dir ? as_path_join(dir, "tokenizer_config.json") : NULL;
    int rc = cfg ? eng_tok_load(t, path, cfg) : as_error_set(AS_ENOMEM, "out of memory");
    free(dir);
    free(cfg);
    return rc;
}

/* Read one line (without its newline) into 'b', at most 'max' bytes.
 * Returns 1 for a line, 0 at the end of input, AS_ETOOBIG past the cap. */
static int read_line(FILE *fp, as_buf *b, size_t max)
{
    char chunk[65536];
    int got = 0;
    as_buf_reset(b);
    while (fgets(chunk, sizeof chunk, fp)) {
        size_t n = strlen(chunk);
        got = 1;
        int nl = n > 0 && chunk[n - 1] == '\n';
        if (b->len + n > max)
            return as_error_set(AS_ETOOBIG, "over %zu bytes", max);
        if (as_buf_append(b, chunk, n - (size_t)nl) < 0)
            return AS_ENOMEM;
        if (nl)
            break;
    }
    return got;
}

static int print_ids(const int32_t *ids, size_t n, json_t *o)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : AS_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (json_array_append_new(arr, json_integer(ids[i])) < 0)
            rc = as_error_set(AS_ENOMEM, "out of memory");
    }
    if (rc == 0 && json_object_set_new(o, "ids", arr) < 0)
        rc = as_error_set(AS_ENOMEM, "out of memory");
    else if (rc != 0)
        json_decref(arr);
    return rc;
}

/* One input line -> one output object (new reference in *out). */
static int do_line(const eng_tokenizer *t, const json_t *in, int mode, int flags, int skip_special,
                   json_t **out)
{
    json_t *o = json_object();
    int32_t *ids = NULL;
    size_t n = 0;
    int rc;
    if (!o)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (mode == 'd') {
        json_t *arr;
        if ((rc = as_json_get_array(in, "ids", 1, &arr)) < 0)
            goto out;
        n = json_array_size(arr);
        ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(arr, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > INT32_MAX) {
                rc = as_error_set(AS_EINVAL, "ids[%zu] is not a token id", i);
                goto out;
            }
            ids[i] = (int32_t)json_integer_value(v);
        }
        char *text;
        size_t len;
        if ((rc = eng_tok_decode(t, ids, n, skip_special, &text, &len)) < 0)
            goto out;
        rc = json_object_set_new(o, "text", json_stringn(text, len)) < 0
                 ? as_error_set(AS_ENOMEM, "out of memory")
                 : 0;
        free(text);
    } else if (mode == 'c') {
        json_t *msgs;
        char *text = NULL;
        eng_chat_family f = eng_chat_family_of(t);
        if ((rc = as_json_get_array(in, "messages", 1, &msgs)) < 0)
            goto out;
        if (f == ENG_CHAT_NONE) {
            rc = as_error_set(AS_EUNSUPPORTED, "the tokenizer has no supported chat template");
            goto out;
        }
        const char *bos = eng_tok_id_to_piece(t, eng_tok_bos(t));
        if ((rc = eng_chat_render(&text, f, msgs, 1, bos)) < 0)
            goto out;
        rc = eng_tok_encode(t, text, strlen(text), 0, &ids, &n);
        if (rc == 0 && json_object_set_new(o, "text", json_string(text)) < 0)
            rc = as_error_set(AS_ENOMEM, "out of memory");
        free(text);
        if (rc == 0)
            rc = print_ids(ids, n, o);
    } else {
        const char *text;
        json_t *tv = json_object_get(in, "text");
        if ((rc = as_json_get_str(in, "text", 1, &text)) < 0)
            goto out;
        if ((rc = eng_tok_encode(t, text, json_string_length(tv), flags, &ids, &n)) < 0)
            goto out;
        rc = print_ids(ids, n, o);
    }
out:
    free(ids);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

int cli_cmd_tokenize(cli_ctx *ctx, int argc, char **argv)
{
    const char *path = NULL;
    int mode = 'e', flags = ENG_TOK_ADD_SPECIAL, skip_special = 0;
    (void)ctx;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tokenizer") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--decode") == 0)
            mode = 'd';
        else if (strcmp(argv[i], "--chat") == 0)
            mode = 'c';
        else if (strcmp(argv[i], "--no-special") == 0)
            flags &= ~ENG_TOK_ADD_SPECIAL;
        else if (strcmp(argv[i], "--split-special") == 0)
            flags |= ENG_TOK_SPLIT_SPECIAL;
        else if (strcmp(argv[i], "--skip-special") == 0)
            skip_special = 1;
        else
            return cli_usage("tokenize", "unexpected argument '%s'", argv[i]);
    }
    if (!path)
        return cli_usage("tokenize", "--tokenizer FILE is required");
    eng_tokenizer *t;
    if (load(&t, path) < 0)
        return cli_fail();
    as_buf line;
    size_t lineno = 0;
    int status = CLI_OK, got;
    as_buf_init(&line, LINE_MAX_BYTES + 1);
    while ((got = read_line(stdin, &line, LINE_MAX_BYTES)) != 0) {
        lineno++;
        if (got < 0) {
            as_error_wrap(got, "standard input: line %zu", lineno);
            status = cli_fail();
            break;
        }
        size_t len = line.len;
        while (len > 0 && line.data[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        json_t *in = NULL, *out = NULL;
        int rc = as_json_parse(&in, line.data, len, "standard input");
        if (rc == 0 && !json_is_object(in))
            rc = as_error_set(AS_EINVAL, "not a JSON object");
        if (rc == 0)
            rc = do_line(t, in, mode, flags, skip_special, &out);
        json_decref(in);
        if (rc < 0) {
            as_error_wrap(rc, "standard input: line %zu", lineno);
            status = cli_fail();
            break;
        }
        rc = as_json_print(stdout, out);
        json_decref(out);
        if (rc < 0) {
            status = cli_fail();
            break;
        }
    }
    as_buf_free(&line);
    eng_tok_free(t);
    if (fflush(stdout) != 0 && status == CLI_OK) {
        as_error_set(AS_ERROR, "standard output: write failed");
        status = cli_fail();
    }
    return status;
}
