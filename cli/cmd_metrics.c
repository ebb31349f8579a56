/* assay metrics: score outputs produced elsewhere with the metrics library
 * (JSONL in from a file or stdin, JSON out). A failed call prints nothing
 * on stdout: every result is built in memory and printed at the end. */
#include "cli/cli.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "metrics/batch.h"
#include "metrics/bleu.h"
#include "metrics/classify.h"
#include "metrics/cosine.h"
#include "metrics/match.h"
#include "metrics/registry.h"
#include "metrics/rouge.h"
#include "metrics/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cli_metrics_usage[] =
    "usage: assay metrics rouge [--stem] [--types rouge1,rouge2,rougeL,rougeLsum]\n"
    "                           [--summary [--seed N] [--resamples N] [--confidence C]]\n"
    "                           [--device cpu|gpu|auto] [FILE]\n"
    "       assay metrics classification [--labels a,b,c] [--pos-label X]\n"
    "                                    [--zero-division 0|1] [FILE]\n"
    "       assay metrics match [--ignore-case] [--ignore-punctuation] [--ignore-numbers]\n"
    "                           [--ignore-regex R]... [--squad] [--summary] [FILE]\n"
    "       assay metrics token-f1 [--summary] [FILE]\n"
    "       assay metrics bleu [--tokenize 13a|none|intl|char] [--smooth exp|floor|add-k|none]\n"
    "                          [--smooth-value V] [--lowercase] [--sentence] [FILE]\n"
    "       assay metrics cosine [--tfidf] [--summary] [--device cpu|gpu|auto] [FILE]\n"
    "       assay metrics compare [--seed N] [--resamples N] [--confidence C] [FILE]\n"
    "\n"
    "Each reads JSON lines from FILE (or standard input) and writes JSON to\n"
    "standard output; doubles are printed round-trip exact. A malformed line is\n"
    "an error naming its line number, and nothing is printed (exit status 1).\n"
    "\n"
    "rouge           lines {\"prediction\": str, \"reference\": str | [str, ...]}; one line\n"
    "                out per line in: {\"rouge1\": {\"precision\", \"recall\", \"fmeasure\"}, ...},\n"
    "                exactly as Google's rouge_score (reference first; several\n"
    "                references: best fmeasure per type). --summary prints one object:\n"
    "                per type, each measure's mean and the low/mid/high percentiles of\n"
    "                a bootstrap of the mean (default seed 0, 1000 resamples, 0.95); with\n"
    "                seed S this is rouge_score's BootstrapAggregator after\n"
    "                np.random.seed(S), types in the order given.\n"
    "classification  lines {\"true\": label, \"pred\": label} (a label is a string, number\n"
    "                or boolean); prints labels, accuracy, per_class, micro, macro,\n"
    "                weighted, binary (when it applies) and confusion_matrix (rows: true\n"
    "                labels) as scikit-learn 1.3+; its errors exit 1 with its message.\n"
    "                --labels and --pos-label values that read as JSON numbers or\n"
    "                booleans are numbers or booleans, anything else a string.\n"
    "match           lines {\"prediction\", \"reference\"}: {\"exact_match\": 0|1} as Hugging\n"
    "                Face evaluate's exact_match (regexes: POSIX extended syntax);\n"
    "                --squad compares SQuAD-normalized answers instead.\n"
    "token-f1        lines {\"prediction\", \"reference\"}: SQuAD token\n"
    "                {\"precision\", \"recall\", \"f1\"}.\n"
    "bleu            lines {\"prediction\": str, \"references\": [str, ...]}: corpus BLEU\n"
    "                as sacrebleu 2.6.0 {\"score\", \"counts\", \"totals\", \"precisions\", \"bp\",\n"
    "                \"sys_len\", \"ref_len\"}, or with --sentence one such line per line in\n"
    "                (sentence_bleu: effective order).\n"
    "cosine          lines {\"a\": [numbers], \"b\": [numbers]}: {\"cosine\": c}; with --tfidf\n"
    "                lines {\"prediction\", \"reference\"}, TF-IDF as scikit-learn's\n"
    "                TfidfVectorizer fitted on every text of the input.\n"
    "compare         lines {\"a\": number, \"b\": number} (two systems' scores of one\n"
    "                item): paired bootstrap of mean(b - a) with its interval and\n"
    "                two-sided p-value, plus McNemar's test when every score is 0 or 1.\n"
    "\n"
    "--summary (rouge, match, token-f1, cosine) prints the means instead of one\n"
    "line per input line.\n"
    "--device (rouge's rougeL, cosine of vectors): where the batch is computed.\n"
    "                auto (default) uses a CUDA GPU for large inputs when there is\n"
    "                one; gpu fails without one; cpu never uses it. The results are\n"
    "                bit-identical either way.\n";

#define MAX_INPUT ((size_t)1 << 30)
#define MAX_OUTPUT ((size_t)4 << 30)
#define MAX_REFS 64

/* ---- input ---- */

typedef struct input {
    char *data;
    size_t len, pos;
    long lineno;
    const char *src;        /* "stdin" or the file name, for messages */
} input;

static int input_open(input *in, const char *path)
{
    memset(in, 0, sizeof(*in));
    in->src = path ? path : "stdin";
    return as_file_read(&in->data, &in->len, path ? path : "-", MAX_INPUT);
}

/* The next non-blank line as a JSON object: 1, 0 at the end, or < 0. */
static int input_next(input *in, json_t **obj)
{
    *obj = NULL;
    while (in->pos < in->len) {
        char *start = in->data + in->pos, *nl = memchr(start, '\n', in->len - in->pos);
        size_t n = nl ? (size_t)(nl - start) : in->len - in->pos;
        char what[96];
        size_t i;
        int blank = 1, rc;

        in->pos += n + (nl ? 1 : 0);
        in->lineno++;
        for (i = 0; i < n && blank; i++)
            blank = start[i] == ' ' || start[i] == '\t' || start[i] == '\r';
        if (blank)
            continue;
        snprintf(what, sizeof(what), "%s line %ld", in->src, in->lineno);
        if ((rc = as_json_parse(obj, start, n, what)) < 0)
            return rc;
        if (!json_is_object(*obj)) {
            json_decref(*obj);
            *obj = NULL;
            return as_error_set(AS_EINVAL, "%s: not a JSON object", what);
        }
        return 1;
    }
    return 0;
}

static int line_error(const input *in, const char *fmt, const char *field)
{
    return as_error_set(AS_EINVAL, "%s line %ld: %s%s", in->src, in->lineno, fmt, field);
}

static int get_text(const input *in, json_t *o, const char *key, const char **s, size_t *len)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        return line_error(in, v ? "field must be a string: " : "missing field: ", key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* A string or a non-empty array of strings (borrowed from o). */
static int get_refs(const input *in, json_t *o, const char *key, const char **refs, size_t *lens,
                    size_t *n)
{
    json_t *v = json_object_get(o, key);
    size_t i;

    if (json_is_string(v)) {
        refs[0] = json_string_value(v);
        lens[0] = json_string_length(v);
        *n = 1;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return line_error(in, v ? "field must be a string or a non-empty array of strings: "
                                : "missing field: ", key);
    if (json_array_size(v) > MAX_REFS)
        return line_error(in, "more than 64 references in ", key);
    for (i = 0; i < json_array_size(v); i++) {
        json_t *r = json_array_get(v, i);
        if (!json_is_string(r))
            return line_error(in, "field must be a string or a non-empty array of strings: ", key);
        refs[i] = json_string_value(r);
        lens[i] = json_string_length(r);
    }
    *n = json_array_size(v);
    return 0;
}

/* ---- output ---- */

static int emit(as_buf *out, json_t *v)
{
    char *s = v ? as_json_dump(v) : NULL;
    int rc;

    json_decref(v);
    if (s == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_buf_puts(out, s);
    free(s);
    if (rc < 0 || (rc = as_buf_putc(out, '\n')) < 0)
        return rc;
    return 0;
}

static int finish(as_buf *out, int rc)
{
    if (rc < 0) {
        as_buf_free(out);
        return cli_fail();
    }
    if (out->len && fwrite(out->data, 1, out->len, stdout) != out->len) {
        as_buf_free(out);
        as_error_set(AS_ERROR, "cannot write the output");
        return cli_fail();
    }
    as_buf_free(out);
    return CLI_OK;
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int grow_doubles(double **p, size_t *cap, size_t n)
{
    size_t c = *cap ? *cap : 1024;
    double *q;

    if (n <= *cap)
        return 0;
    while (c < n)
        c *= 2;
    if ((q = realloc(*p, c * sizeof(*q))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    *p = q;
    *cap = c;
    return 0;
}

/* ---- options ---- */

typedef struct opts {
    const char *file;
    int stem, summary, squad, sentence, lowercase, tfidf;
    int ignore_case, ignore_punct, ignore_numbers;
    const char *regexes[MET_MATCH_MAX_REGEXES];
    size_t nregexes;
    const char *types, *labels, *pos_label, *tokenize, *smooth;
    met_device device;
    double smooth_value, confidence;
    long zero_division;
    unsigned long seed, resamples;
} opts;

static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;

    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return -1;
    *out = strtoul(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return (errno || *end || s[0] == '\0') ? -1 : 0;
}

/* Parse argv[2..] for subcommand 'sub'; 'allowed' lists its options. */
static int parse_opts(const char *sub, const char *allowed, int argc, char **argv, opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->resamples = 1000;
    o->confidence = 0.95;
    o->smooth_value = -1;
    for (i = 2; i < argc; i++) {
        char name[40];
        const char *a = argv[i], *val = NULL, *eq;
        size_t nl;

        if (a[0] != '-' || a[1] == '\0') {
            if (o->file)
                return cli_usage("metrics", "metrics %s takes one input file, got '%s' too", sub, a);
            o->file = a;
            continue;
        }
        eq = strchr(a, '=');
        nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name))
            return cli_usage("metrics", "unknown option '%s'", a);
        memcpy(name, a, nl);
        name[nl] = '\0';
        {
            char key[48];
            snprintf(key, sizeof(key), " %s ", name);
            if (strstr(allowed, key) == NULL)
                return cli_usage("metrics", "metrics %s: unknown option '%s'", sub, name);
        }
#define FLAG(n, field) if (strcmp(name, n) == 0) { if (eq) return cli_usage("metrics", "%s takes no value", n); o->field = 1; continue; }
        FLAG("--stem", stem)
        FLAG("--summary", summary)
        FLAG("--squad", squad)
        FLAG("--sentence", sentence)
        FLAG("--lowercase", lowercase)
        FLAG("--tfidf", tfidf)
        FLAG("--ignore-case", ignore_case)
        FLAG("--ignore-punctuation", ignore_punct)
        FLAG("--ignore-numbers", ignore_numbers)
#undef FLAG
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cli_usage("metrics", "%s needs a value", name);
            val = argv[++i];
        }
        if (strcmp(name, "--types") == 0) {
            o->types = val;
        } else if (strcmp(name, "--device") == 0) {
            if (met_device_parse(val, &o->device) < 0)
                return cli_usage("metrics", "--device must be cpu, gpu or auto, not '%s'", val);
        } else if (strcmp(name, "--labels") == 0) {
            o->labels = val;
        } else if (strcmp(name, "--pos-label") == 0) {
            o->pos_label = val;
        } else if (strcmp(name, "--tokenize") == 0) {
            o->tokenize = val;
        } else if (strcmp(name, "--smooth") == 0) {
            o->smooth = val;
        } else if (strcmp(name, "--ignore-regex") == 0) {
            if (o->nregexes == MET_MATCH_MAX_REGEXES)
                return cli_usage("metrics", "at most %d --ignore-regex", MET_MATCH_MAX_REGEXES);
            o->regexes[o->nregexes++] = val;
        } else if (strcmp(name, "--zero-division") == 0) {
            if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
                return cli_usage("metrics", "--zero-division must be 0 or 1, not '%s'", val);
            o->zero_division = val[0] - '0';
        } else if (strcmp(name, "--seed") == 0) {
            if (parse_ulong(val, &o->seed) < 0 || o->seed > 0xFFFFFFFFul)
                return cli_usage("metrics", "--seed must be an integer from 0 to 4294967295");
        } else if (strcmp(name, "--resamples") == 0) {
            if (parse_ulong(val, &o->resamples) < 0 || o->resamples < 1 ||
                o->resamples > MET_BOOT_MAX_RESAMPLES)
                return cli_usage("metrics", "--resamples must be an integer from 1 to %d",
                                 MET_BOOT_MAX_RESAMPLES);
        } else if (strcmp(name, "--confidence") == 0) {
            if (parse_double(val, &o->confidence) < 0 || !(o->confidence > 0 && o->confidence < 1))
                return cli_usage("metrics", "--confidence must be between 0 and 1");
        } else if (strcmp(name, "--smooth-value") == 0) {
            if (parse_double(val, &o->smooth_value) < 0 || !(o->smooth_value >= 0))
                return cli_usage("metrics", "--smooth-value must be a number >= 0");
        }
    }
    return 0;
}

static json_t *prf_json(const met_prf *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "precision", num(p->precision));
    json_object_set_new(o, "recall", num(p->recall));
    json_object_set_new(o, "fmeasure", num(p->fmeasure));
    return o;
}

/* ---- rouge ---- */

/* --device gpu without a usable GPU fails before any work is done. */
static int device_check(met_device d)
{
    char why[160];

    if (d == MET_DEVICE_GPU && !met_gpu_usable(why, sizeof(why)))
        return as_error_set(AS_EUNSUPPORTED, "--device gpu: no usable GPU (%s)", why);
    return 0;
}

/* rougeL of every (prediction, reference) pair gathered in 'b' at once
 * (met_batch_rouge_l, on the GPU for large inputs), then per line the best
 * fmeasure over its references (the first wins ties, as score_multi) into
 * res[line * nt + li]. */
typedef struct rouge_l_batch {
    met_interner *in;
    met_seqs refs, preds;
    size_t *nrefs, cap;     /* per line */
} rouge_l_batch;

static int rouge_l_add(rouge_l_batch *b, size_t line, const char *pred, size_t plen,
                       const char *const *refs, const size_t *lens, size_t nr)
{
    size_t k;
    int rc;

    if (line >= b->cap) {
        size_t c = b->cap ? b->cap * 2 : 1024;
        size_t *p = realloc(b->nrefs, c * sizeof(*p));
        if (p == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        b->nrefs = p;
        b->cap = c;
    }
    b->nrefs[line] = nr;
    for (k = 0; k < nr; k++)
        if ((rc = met_interner_add(b->in, &b->preds, pred, plen)) < 0 ||
            (rc = met_interner_add(b->in, &b->refs, refs[k], lens[k])) < 0)
            return rc;
    return 0;
}

static int rouge_l_run(rouge_l_batch *b, met_device dev, size_t n, met_prf *res, size_t nt,
                       size_t li)
{
    met_prf *pairs = malloc((b->refs.n ? b->refs.n : 1) * sizeof(*pairs));
    size_t line, k, pair = 0;
    int rc;

    if (pairs == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = met_batch_rouge_l(&b->refs, &b->preds, dev, pairs, NULL)) < 0) {
        free(pairs);
        return rc;
    }
    for (line = 0; line < n; line++) {
        met_prf *best = &res[line * nt + li];
        for (k = 0; k < b->nrefs[line]; k++, pair++)
            if (k == 0 || pairs[pair].fmeasure > best->fmeasure)
                *best = pairs[pair];
    }
    free(pairs);
    return 0;
}

static int rouge_cmd(int argc, char **argv)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    met_rouge *r = NULL;
    rouge_l_batch lb;
    int types[MET_ROUGE_MAX_TYPES], cpu_types[MET_ROUGE_MAX_TYPES], rc;
    size_t nt = 0, ncpu = 0, li = MET_ROUGE_MAX_TYPES, i, n = 0, cap = 0, rcap = 0;
    double *rows = NULL;        /* summary: n x nt x 3 */
    met_prf *scores = NULL;     /* n x nt, in the order of types */
    json_t *line = NULL;

    memset(&lb, 0, sizeof(lb));
    if ((rc = parse_opts("rouge", " --stem --types --summary --seed --resamples --confidence "
                                  "--device ", argc, argv, &o)) != 0)
        return rc;
    {
        const char *p = o.types ? o.types : "rouge1,rouge2,rougeL,rougeLsum";
        while (*p) {
            char name[32];
            size_t l = strcspn(p, ",");
            if (l == 0 || l >= sizeof(name))
                return cli_usage("metrics", "--types: bad rouge type list '%s'", o.types);
            memcpy(name, p, l);
            name[l] = '\0';
            if (nt == MET_ROUGE_MAX_TYPES)
                return cli_usage("metrics", "--types: at most %d types", MET_ROUGE_MAX_TYPES);
            if (met_rouge_type_parse(name, &types[nt]) < 0)
                return cli_usage("metrics", "--types: %s", as_error_msg());
            for (i = 0; i < nt; i++)
                if (types[i] == types[nt])
                    return cli_usage("metrics", "--types: %s given twice", name);
            nt++;
            p += l;
            if (*p == ',')
                p++;
        }
    }
    /* rougeL goes through the batch API, the other types line by line. */
    for (i = 0; i < nt; i++) {
        if (types[i] == MET_ROUGE_L)
            li = i;
        else
            cpu_types[ncpu++] = types[i];
    }
    as_buf_init(&out, MAX_OUTPUT);
    met_seqs_init(&lb.refs);
    met_seqs_init(&lb.preds);
    if ((rc = device_check(o.device)) < 0 || (rc = input_open(&in, o.file)) < 0 ||
        (rc = met_rouge_new(&r, o.stem)) < 0 ||
        (li < nt && (rc = met_interner_new(&lb.in, o.stem)) < 0))
        goto out;
    while ((rc = input_next(&in, &line)) > 0) {
        const char *pred = NULL, *refs[MAX_REFS];
        size_t plen = 0, lens[MAX_REFS], nr, k;
        met_prf s[MET_ROUGE_MAX_TYPES];

        if ((rc = get_text(&in, line, "prediction", &pred, &plen)) < 0 ||
            (rc = get_refs(&in, line, "reference", refs, lens, &nr)) < 0 ||
            (ncpu > 0 &&
             (rc = met_rouge_score_multi(r, refs, lens, nr, pred, plen, cpu_types, ncpu, s)) < 0) ||
            (li < nt && (rc = rouge_l_add(&lb, n, pred, plen, refs, lens, nr)) < 0))
            goto out;
        json_decref(line);
        line = NULL;
        if (rcap < (n + 1) * nt) {
            size_t c = rcap ? rcap * 2 : 1024 * nt;
            met_prf *p = realloc(scores, c * sizeof(*p));
            if (p == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            scores = p;
            rcap = c;
        }
        for (i = 0, k = 0; i < nt; i++)
            if (i != li)
                scores[n * nt + i] = s[k++];
        n++;
    }
    if (rc < 0 || (li < nt && (rc = rouge_l_run(&lb, o.device, n, scores, nt, li)) < 0))
        goto out;
    for (i = 0; i < n; i++) {
        size_t t;
        if (o.summary) {
            if ((rc = grow_doubles(&rows, &cap, (i + 1) * nt * 3)) < 0)
                goto out;
            for (t = 0; t < nt; t++) {
                rows[(i * nt + t) * 3 + 0] = scores[i * nt + t].precision;
                rows[(i * nt + t) * 3 + 1] = scores[i * nt + t].recall;
                rows[(i * nt + t) * 3 + 2] = scores[i * nt + t].fmeasure;
            }
        } else {
            json_t *obj = json_object();
            for (t = 0; t < nt; t++)
                json_object_set_new(obj, met_rouge_type_name(types[t]),
                                    prf_json(&scores[i * nt + t]));
            if ((rc = emit(&out, obj)) < 0)
                goto out;
        }
    }
    if (o.summary) {
        json_t *res = json_object(), *boot = json_object();
        double *cols = NULL;
        met_mt rng;
        if (n == 0) {
            json_decref(res);
            json_decref(boot);
            rc = as_error_set(AS_EINVAL, "%s: no lines to summarize", in.src);
            goto out;
        }
        if ((cols = malloc(n * 3 * sizeof(double))) == NULL) {
            json_decref(res);
            json_decref(boot);
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        met_mt_seed(&rng, (uint32_t)o.seed);
        for (i = 0; i < nt && rc >= 0; i++) {
            static const char *const m[] = {"precision", "recall", "fmeasure"};
            met_interval iv[3];
            json_t *t = json_object();
            size_t k, j;
            for (k = 0; k < n; k++)
                for (j = 0; j < 3; j++)
                    cols[k * 3 + j] = rows[(k * nt + i) * 3 + j];
            rc = met_bootstrap(cols, n, 3, &rng, o.resamples, o.confidence, iv);
            for (j = 0; j < 3 && rc >= 0; j++) {
                json_t *mj = json_object();
                double *col = malloc(n * sizeof(double));
                if (col == NULL) {
                    json_decref(mj);
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                    break;
                }
                for (k = 0; k < n; k++)
                    col[k] = cols[k * 3 + j];
                json_object_set_new(mj, "mean", num(met_mean(col, n)));
                json_object_set_new(mj, "low", num(iv[j].low));
                json_object_set_new(mj, "mid", num(iv[j].mid));
                json_object_set_new(mj, "high", num(iv[j].high));
                json_object_set_new(t, m[j], mj);
                free(col);
            }
            json_object_set_new(res, met_rouge_type_name(types[i]), t);
        }
        free(cols);
        json_object_set_new(boot, "n", json_integer((json_int_t)n));
        json_object_set_new(boot, "seed", json_integer((json_int_t)o.seed));
        json_object_set_new(boot, "resamples", json_integer((json_int_t)o.resamples));
        json_object_set_new(boot, "confidence", json_real(o.confidence));
        json_object_set_new(res, "bootstrap", boot);
        if (rc >= 0)
            rc = emit(&out, res);
        else
            json_decref(res);
    }
out:
    json_decref(line);
    free(rows);
    free(scores);
    free(in.data);
    met_rouge_free(r);
    met_interner_free(lb.in);
    met_seqs_free(&lb.refs);
    met_seqs_free(&lb.preds);
    free(lb.nrefs);
    return finish(&out, rc);
}

/* ---- classification ---- */

/* A label given on the command line: a JSON number or boolean when it
 * reads as one, else the string itself. */
static int cli_label(const char *text, met_label *l, json_t **hold)
{
    json_t *v = NULL;

    *hold = NULL;
    if (as_json_parse(&v, text, strlen(text), "label") == 0 &&
        (json_is_number(v) || json_is_boolean(v) || json_is_string(v))) {
        *hold = v;
        return met_label_from_json(l, v);
    }
    json_decref(v);
    as_error_clear();
    memset(l, 0, sizeof(*l));
    l->kind = MET_LABEL_STR;
    l->s = text;
    l->len = strlen(text);
    return 0;
}

static json_t *label_value(const met_label *l)
{
    switch (l->kind) {
    case MET_LABEL_STR:
        return json_stringn(l->s, l->len);
    case MET_LABEL_INT:
        return json_integer(l->i);
    case MET_LABEL_FLOAT:
        return json_real(l->d);
    case MET_LABEL_BOOL:
        return json_boolean(l->i);
    }
    return json_null();
}

static json_t *avg_json(const met_cls_avg *a)
{
    json_t *o = json_object();

    json_object_set_new(o, "precision", num(a->precision));
    json_object_set_new(o, "recall", num(a->recall));
    json_object_set_new(o, "f1", num(a->f1));
    json_object_set_new(o, "support", json_integer(a->support));
    return o;
}

static int classification_cmd(int argc, char **argv)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    met_cls *c = NULL;
    met_cls_result *r = NULL;
    met_label labels[MET_SPEC_MAX_LABELS], pos;
    json_t *holds[MET_SPEC_MAX_LABELS + 1], *line = NULL;
    char *lablist = NULL;
    size_t nl = 0, nholds = 0, i, j;
    met_cls_opts co = {NULL, 0, NULL, 0};
    int rc;

    memset(holds, 0, sizeof(holds));
    if ((rc = parse_opts("classification", " --labels --pos-label --zero-division ", argc, argv,
                         &o)) != 0)
        return rc;
    as_buf_init(&out, MAX_OUTPUT);
    co.zero_division = (int)o.zero_division;
    if (o.labels) {
        char *p, *next;
        if ((lablist = strdup(o.labels)) == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        for (p = lablist; p; p = next) {
            next = strchr(p, ',');
            if (next)
                *next++ = '\0';
            if (nl == MET_SPEC_MAX_LABELS) {
                rc = as_error_set(AS_EINVAL, "--labels: more than %d labels", MET_SPEC_MAX_LABELS);
                goto out;
            }
            if ((rc = cli_label(p, &labels[nl], &holds[nholds++])) < 0)
                goto out;
            nl++;
        }
        co.labels = labels;
        co.nlabels = nl;
    }
    if (o.pos_label) {
        if ((rc = cli_label(o.pos_label, &pos, &holds[nholds++])) < 0)
            goto out;
        co.pos_label = &pos;
    }
    if ((rc = input_open(&in, o.file)) < 0 || (rc = met_cls_new(&c)) < 0)
        goto out;
    while ((rc = input_next(&in, &line)) > 0) {
        met_label t, p;
        json_t *tv = json_object_get(line, "true"), *pv = json_object_get(line, "pred");
        if (tv == NULL || met_label_from_json(&t, tv) < 0) {
            rc = line_error(&in, tv ? "field must be a string, number or boolean: "
                                    : "missing field: ", "true");
            goto out;
        }
        if (pv == NULL || met_label_from_json(&p, pv) < 0) {
            rc = line_error(&in, pv ? "field must be a string, number or boolean: "
                                    : "missing field: ", "pred");
            goto out;
        }
        if ((rc = met_cls_add(c, &t, &p)) < 0) {
            as_error_wrap(rc, "%s line %ld", in.src, in.lineno);
            goto out;
        }
        json_decref(line);
        line = NULL;
    }
    if (rc < 0)
        goto out;
    if ((rc = met_cls_compute(&r, c, &co)) < 0) {
        as_error_wrap(rc, "%s", in.src);
        goto out;
    }
    {
        json_t *res = json_object(), *lj = json_array(), *pc = json_object(), *cm = json_array();
        for (i = 0; i < r->n; i++) {
            json_t *row = json_object(), *cmrow = json_array();
            json_array_append_new(lj, label_value(&r->labels[i]));
            json_object_set_new(row, "precision", num(r->precision[i]));
            json_object_set_new(row, "recall", num(r->recall[i]));
            json_object_set_new(row, "f1", num(r->f1[i]));
            json_object_set_new(row, "support", json_integer(r->support[i]));
            json_object_set_new(pc, r->names[i], row);
            for (j = 0; j < r->n; j++)
                json_array_append_new(cmrow, json_integer(r->confusion[i * r->n + j]));
            json_array_append_new(cm, cmrow);
        }
        json_object_set_new(res, "labels", lj);
        json_object_set_new(res, "accuracy", num(r->accuracy));
        json_object_set_new(res, "per_class", pc);
        json_object_set_new(res, "micro", avg_json(&r->micro));
        json_object_set_new(res, "macro", avg_json(&r->macro));
        json_object_set_new(res, "weighted", avg_json(&r->weighted));
        if (r->has_binary) {
            met_label one = {MET_LABEL_INT, NULL, 0, 1, 0};
            json_t *b = avg_json(&r->binary);
            json_object_set_new(b, "pos_label", label_value(co.pos_label ? co.pos_label : &one));
            json_object_set_new(res, "binary", b);
        }
        json_object_set_new(res, "confusion_matrix", cm);
        json_object_set_new(res, "n", json_integer(r->total));
        rc = emit(&out, res);
    }
out:
    json_decref(line);
    for (i = 0; i < nholds; i++)
        json_decref(holds[i]);
    free(lablist);
    free(in.data);
    met_cls_result_free(r);
    met_cls_free(c);
    return finish(&out, rc);
}

/* ---- match, token-f1 ---- */

static int match_cmd(int argc, char **argv, int f1)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    met_matcher *m = NULL;
    json_t *line = NULL;
    double sums[3] = {0, 0, 0};
    double *vals = NULL;
    size_t n = 0, cap = 0;
    int rc;

    if (f1)
        rc = parse_opts("token-f1", " --summary ", argc, argv, &o);
    else
        rc = parse_opts("match", " --ignore-case --ignore-punctuation --ignore-numbers "
                                 "--ignore-regex --squad --summary ", argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.squad && (o.ignore_case || o.ignore_punct || o.ignore_numbers || o.nregexes))
        return cli_usage("metrics", "--squad normalizes by itself: no --ignore-* options with it");
    as_buf_init(&out, MAX_OUTPUT);
    {
        met_match_opts mo = {o.ignore_case, o.ignore_punct, o.ignore_numbers, o.regexes,
                             o.nregexes, 0};
        if ((rc = met_matcher_new(&m, &mo)) < 0 || (rc = input_open(&in, o.file)) < 0)
            goto out;
    }
    while ((rc = input_next(&in, &line)) > 0) {
        const char *pred = NULL, *refs[MAX_REFS];
        size_t plen = 0, lens[MAX_REFS], nr, k;
        double best[3] = {0, 0, 0};
        int hit = 0;

        if ((rc = get_text(&in, line, "prediction", &pred, &plen)) < 0 ||
            (rc = get_refs(&in, line, "reference", refs, lens, &nr)) < 0)
            goto out;
        for (k = 0; k < nr; k++) {
            if (f1) {
                double p, r, f;
                if ((rc = met_squad_f1(m, pred, plen, refs[k], lens[k], &p, &r, &f)) < 0)
                    goto out;
                if (k == 0 || f > best[2]) {
                    best[0] = p;
                    best[1] = r;
                    best[2] = f;
                }
            } else {
                int h = 0;
                rc = o.squad ? met_squad_match(m, pred, plen, refs[k], lens[k], &h)
                             : met_match_exact(m, pred, plen, refs[k], lens[k], &h);
                if (rc < 0)
                    goto out;
                hit |= h;
            }
        }
        json_decref(line);
        line = NULL;
        if (o.summary) {
            if ((rc = grow_doubles(&vals, &cap, (n + 1) * 3)) < 0)
                goto out;
            vals[n * 3 + 0] = f1 ? best[0] : hit;
            vals[n * 3 + 1] = best[1];
            vals[n * 3 + 2] = best[2];
        } else {
            json_t *obj = json_object();
            if (f1) {
                json_object_set_new(obj, "precision", num(best[0]));
                json_object_set_new(obj, "recall", num(best[1]));
                json_object_set_new(obj, "f1", num(best[2]));
            } else {
                json_object_set_new(obj, "exact_match", json_integer(hit));
            }
            if ((rc = emit(&out, obj)) < 0)
                goto out;
        }
        n++;
    }
    if (rc < 0)
        goto out;
    if (o.summary && n == 0) {
        rc = as_error_set(AS_EINVAL, "%s: no lines to summarize", in.src);
        goto out;
    }
    if (o.summary) {
        json_t *res = json_object();
        double *col = malloc(n * sizeof(double));
        int j;
        if (col == NULL) {
            json_decref(res);
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        for (j = 0; j < 3; j++) {
            size_t k;
            for (k = 0; k < n; k++)
                col[k] = vals[k * 3 + (size_t)j];
            sums[j] = met_mean(col, n);
        }
        free(col);
        if (f1) {
            json_object_set_new(res, "precision", num(sums[0]));
            json_object_set_new(res, "recall", num(sums[1]));
            json_object_set_new(res, "f1", num(sums[2]));
        } else {
            json_object_set_new(res, "exact_match", num(sums[0]));
        }
        json_object_set_new(res, "n", json_integer((json_int_t)n));
        rc = emit(&out, res);
    }
out:
    json_decref(line);
    free(vals);
    free(in.data);
    met_matcher_free(m);
    return finish(&out, rc);
}

/* ---- bleu ---- */

static json_t *bleu_json(const met_bleu_result *r)
{
    json_t *o = json_object(), *c = json_array(), *t = json_array(), *p = json_array();
    int k;

    json_object_set_new(o, "score", num(r->score));
    for (k = 0; k < 4; k++) {
        json_array_append_new(c, r->counts[k] == floor(r->counts[k]) && fabs(r->counts[k]) < 9e15
                                     ? json_integer((json_int_t)r->counts[k]) : num(r->counts[k]));
        json_array_append_new(t, r->totals[k] == floor(r->totals[k]) && fabs(r->totals[k]) < 9e15
                                     ? json_integer((json_int_t)r->totals[k]) : num(r->totals[k]));
        json_array_append_new(p, num(r->precisions[k]));
    }
    json_object_set_new(o, "counts", c);
    json_object_set_new(o, "totals", t);
    json_object_set_new(o, "precisions", p);
    json_object_set_new(o, "bp", num(r->bp));
    json_object_set_new(o, "sys_len", json_integer(r->sys_len));
    json_object_set_new(o, "ref_len", json_integer(r->ref_len));
    return o;
}

static int bleu_cmd(int argc, char **argv)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    met_bleu *b = NULL;
    met_bleu_opts bo = {MET_BLEU_13A, MET_SMOOTH_EXP, -1, 0};
    met_bleu_stats total, seg;
    met_bleu_result res;
    json_t *line = NULL;
    int rc;

    if ((rc = parse_opts("bleu", " --tokenize --smooth --smooth-value --lowercase --sentence ",
                         argc, argv, &o)) != 0)
        return rc;
    if (o.tokenize && met_bleu_tok_parse(o.tokenize, &bo.tokenize) < 0)
        return cli_usage("metrics", "--tokenize: %s", as_error_msg());
    if (o.smooth && met_bleu_smooth_parse(o.smooth, &bo.smooth) < 0)
        return cli_usage("metrics", "--smooth: %s", as_error_msg());
    bo.lowercase = o.lowercase;
    bo.smooth_value = o.smooth_value;
    memset(&total, 0, sizeof(total));
    as_buf_init(&out, MAX_OUTPUT);
    if ((rc = met_bleu_new(&b, &bo)) < 0 || (rc = input_open(&in, o.file)) < 0)
        goto out;
    while ((rc = input_next(&in, &line)) > 0) {
        const char *pred = NULL, *refs[MAX_REFS];
        size_t plen = 0, lens[MAX_REFS], nr;

        if ((rc = get_text(&in, line, "prediction", &pred, &plen)) < 0 ||
            (rc = get_refs(&in, line, json_object_get(line, "references") ? "references"
                                      : "reference", refs, lens, &nr)) < 0 ||
            (rc = met_bleu_segment(b, pred, plen, refs, lens, nr, &seg)) < 0)
            goto out;
        json_decref(line);
        line = NULL;
        met_bleu_stats_add(&total, &seg);
        if (o.sentence) {
            met_bleu_score(&seg, &bo, 1, &res);
            if ((rc = emit(&out, bleu_json(&res))) < 0)
                goto out;
        }
    }
    if (rc < 0)
        goto out;
    if (!o.sentence) {
        met_bleu_score(&total, &bo, 0, &res);
        rc = emit(&out, bleu_json(&res));
    }
out:
    json_decref(line);
    free(in.data);
    met_bleu_free(b);
    return finish(&out, rc);
}

/* ---- cosine ---- */

static int get_vector(const input *in, json_t *o, const char *key, double **v, size_t *cap,
                      size_t *n)
{
    json_t *a = json_object_get(o, key), *x;
    size_t i;

    if (!json_is_array(a))
        return line_error(in, a ? "field must be an array of numbers: " : "missing field: ", key);
    if (grow_doubles(v, cap, json_array_size(a) + 1) < 0)
        return AS_ENOMEM;
    json_array_foreach(a, i, x) {
        if (!json_is_number(x))
            return line_error(in, "field must be an array of numbers: ", key);
        (*v)[i] = json_number_value(x);
    }
    *n = json_array_size(a);
    return 0;
}

static int cosine_cmd(int argc, char **argv)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    json_t *line = NULL;
    met_tfidf *tf = NULL;
    double *va = NULL, *vb = NULL, *vals = NULL;
    double *fa = NULL, *fb = NULL;      /* vectors: every line's a and b back to back */
    size_t ca = 0, cb = 0, cv = 0, cfa = 0, cfb = 0, n = 0, i, used = 0, dim = 0;
    size_t *voff = NULL, vcap = 0;      /* vectors: line i is [voff[i], voff[i+1]) */
    int one_dim = 1;
    size_t *docs = NULL, dcap = 0;      /* tfidf: per line the prediction doc, refs count */
    int rc;

    if ((rc = parse_opts("cosine", " --tfidf --summary --device ", argc, argv, &o)) != 0)
        return rc;
    as_buf_init(&out, MAX_OUTPUT);
    if ((rc = device_check(o.device)) < 0 || (rc = input_open(&in, o.file)) < 0 ||
        (o.tfidf && (rc = met_tfidf_new(&tf)) < 0))
        goto out;
    while ((rc = input_next(&in, &line)) > 0) {
        if (o.tfidf) {
            const char *pred = NULL, *refs[MAX_REFS];
            size_t plen = 0, lens[MAX_REFS], nr, k, d;
            if ((rc = get_text(&in, line, "prediction", &pred, &plen)) < 0 ||
                (rc = get_refs(&in, line, "reference", refs, lens, &nr)) < 0)
                goto out;
            if (dcap < (n + 1) * 2) {
                size_t c2 = dcap ? dcap * 2 : 1024;
                size_t *p = realloc(docs, c2 * sizeof(*p));
                if (p == NULL) {
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                    goto out;
                }
                docs = p;
                dcap = c2;
            }
            if ((rc = met_tfidf_add(tf, pred, plen, &docs[n * 2])) < 0)
                goto out;
            for (k = 0; k < nr; k++)
                if ((rc = met_tfidf_add(tf, refs[k], lens[k], &d)) < 0)
                    goto out;
            docs[n * 2 + 1] = nr;
        } else {
            size_t na, nb;
            if ((rc = get_vector(&in, line, "a", &va, &ca, &na)) < 0 ||
                (rc = get_vector(&in, line, "b", &vb, &cb, &nb)) < 0)
                goto out;
            if (na != nb) {
                rc = as_error_set(AS_EINVAL, "%s line %ld: a has %zu numbers and b %zu", in.src,
                                  in.lineno, na, nb);
                goto out;
            }
            if ((rc = grow_doubles(&fa, &cfa, used + na + 1)) < 0 ||
                (rc = grow_doubles(&fb, &cfb, used + na + 1)) < 0)
                goto out;
            if (vcap < n + 2) {
                size_t c2 = vcap ? vcap * 2 : 1024;
                size_t *p = realloc(voff, c2 * sizeof(*p));
                if (p == NULL) {
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                    goto out;
                }
                voff = p;
                vcap = c2;
            }
            memcpy(fa + used, va, na * sizeof(double));
            memcpy(fb + used, vb, na * sizeof(double));
            if (n == 0)
                dim = na;
            one_dim = one_dim && na == dim;
            voff[n] = used;
            used += na;
            voff[n + 1] = used;
        }
        json_decref(line);
        line = NULL;
        n++;
    }
    if (rc < 0)
        goto out;
    if (!o.tfidf && n > 0) {
        /* One batch (on the GPU for large inputs) when every line has
         * vectors of one length; line by line on the CPU otherwise. */
        if ((rc = grow_doubles(&vals, &cv, n)) < 0)
            goto out;
        if (one_dim) {
            if ((rc = met_batch_cosine(fa, fb, n, dim, o.device, vals, NULL)) < 0)
                goto out;
        } else if (o.device == MET_DEVICE_GPU) {
            rc = as_error_set(AS_EINVAL, "%s: --device gpu needs vectors of one length on "
                                         "every line", in.src);
            goto out;
        } else {
            for (i = 0; i < n; i++)
                vals[i] = met_cosine(fa + voff[i], fb + voff[i], voff[i + 1] - voff[i]);
        }
    }
    if (o.tfidf) {
        if (n > 0 && (rc = met_tfidf_fit(tf)) < 0) {
            as_error_wrap(rc, "%s", in.src);
            goto out;
        }
        if ((rc = grow_doubles(&vals, &cv, n + 1)) < 0)
            goto out;
        for (i = 0; i < n; i++) {
            size_t k;
            double best = 0;
            for (k = 0; k < docs[i * 2 + 1]; k++) {
                double c;
                if ((rc = met_tfidf_cosine(tf, docs[i * 2], docs[i * 2] + 1 + k, &c)) < 0)
                    goto out;
                if (k == 0 || c > best)
                    best = c;
            }
            vals[i] = best;
        }
    }
    if (o.summary && n == 0) {
        rc = as_error_set(AS_EINVAL, "%s: no lines to summarize", in.src);
    } else if (o.summary) {
        json_t *res = json_object();
        json_object_set_new(res, "cosine", num(met_mean(vals, n)));
        json_object_set_new(res, "n", json_integer((json_int_t)n));
        rc = emit(&out, res);
    } else {
        for (i = 0; i < n && rc >= 0; i++) {
            json_t *obj = json_object();
            json_object_set_new(obj, "cosine", num(vals[i]));
            rc = emit(&out, obj);
        }
    }
out:
    json_decref(line);
    free(va);
    free(vb);
    free(fa);
    free(fb);
    free(voff);
    free(vals);
    free(docs);
    free(in.data);
    met_tfidf_free(tf);
    return finish(&out, rc);
}

/* ---- compare ---- */

static int compare_cmd(int argc, char **argv)
{
    opts o;
    input in = {NULL, 0, 0, 0, NULL};
    as_buf out;
    json_t *line = NULL;
    double *a = NULL, *b = NULL;
    size_t ca = 0, cb = 0, n = 0, i;
    int rc, binary = 1;

    if ((rc = parse_opts("compare", " --seed --resamples --confidence ", argc, argv, &o)) != 0)
        return rc;
    as_buf_init(&out, MAX_OUTPUT);
    if ((rc = input_open(&in, o.file)) < 0)
        goto out;
    while ((rc = input_next(&in, &line)) > 0) {
        json_t *x = json_object_get(line, "a"), *y = json_object_get(line, "b");
        if (!json_is_number(x) || !json_is_number(y)) {
            rc = line_error(&in, "fields a and b must be numbers", "");
            goto out;
        }
        if ((rc = grow_doubles(&a, &ca, n + 1)) < 0 || (rc = grow_doubles(&b, &cb, n + 1)) < 0)
            goto out;
        a[n] = json_number_value(x);
        b[n] = json_number_value(y);
        binary &= (a[n] == 0 || a[n] == 1) && (b[n] == 0 || b[n] == 1);
        json_decref(line);
        line = NULL;
        n++;
    }
    if (rc < 0)
        goto out;
    {
        met_paired p;
        json_t *res = json_object();
        if ((rc = met_paired_bootstrap(a, b, n, (uint32_t)o.seed, o.resamples, o.confidence, &p)) < 0) {
            json_decref(res);
            as_error_wrap(rc, "%s", in.src);
            goto out;
        }
        json_object_set_new(res, "n", json_integer((json_int_t)n));
        json_object_set_new(res, "mean_a", num(p.mean_a));
        json_object_set_new(res, "mean_b", num(p.mean_b));
        json_object_set_new(res, "diff", num(p.diff));
        json_object_set_new(res, "low", num(p.low));
        json_object_set_new(res, "high", num(p.high));
        json_object_set_new(res, "p_value", num(p.p_value));
        json_object_set_new(res, "seed", json_integer((json_int_t)o.seed));
        json_object_set_new(res, "resamples", json_integer((json_int_t)o.resamples));
        json_object_set_new(res, "confidence", json_real(o.confidence));
        if (binary) {
            met_mcnemar mc;
            int *pa = malloc(n * sizeof(int)), *pb = malloc(n * sizeof(int));
            json_t *mj = json_object();
            if (pa == NULL || pb == NULL) {
                free(pa);
                free(pb);
                json_decref(mj);
                json_decref(res);
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            for (i = 0; i < n; i++) {
                pa[i] = a[i] == 1;
                pb[i] = b[i] == 1;
            }
            met_mcnemar_test(pa, pb, n, &mc);
            free(pa);
            free(pb);
            json_object_set_new(mj, "a_only", json_integer(mc.b));
            json_object_set_new(mj, "b_only", json_integer(mc.c));
            json_object_set_new(mj, "exact", json_boolean(mc.exact));
            json_object_set_new(mj, "statistic", num(mc.statistic));
            json_object_set_new(mj, "p_value", num(mc.p_value));
            json_object_set_new(res, "mcnemar", mj);
        }
        rc = emit(&out, res);
    }
out:
    json_decref(line);
    free(a);
    free(b);
    free(in.data);
    return finish(&out, rc);
}

int cli_cmd_metrics(cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    if (argc < 2)
        return cli_usage("metrics", "metrics needs a subcommand: rouge, classification, match, "
                                    "token-f1, bleu, cosine or compare");
    if (strcmp(argv[1], "rouge") == 0)
        return rouge_cmd(argc, argv);
    if (strcmp(argv[1], "classification") == 0)
        return classification_cmd(argc, argv);
    if (strcmp(argv[1], "match") == 0)
        return match_cmd(argc, argv, 0);
    if (strcmp(argv[1], "token-f1") == 0)
        return match_cmd(argc, argv, 1);
    if (strcmp(argv[1], "bleu") == 0)
        return bleu_cmd(argc, argv);
    if (strcmp(argv[1], "cosine") == 0)
        return cosine_cmd(argc, argv);
    if (strcmp(argv[1], "compare") == 0)
        return compare_cmd(argc, argv);
    return cli_usage("metrics", "unknown metrics subcommand '%s'", argv[1]);
}
