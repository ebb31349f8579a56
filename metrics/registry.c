/* Metric specs, validation and per-case / corpus scoring; see registry.h. */
#include "metrics/registry.h"
#include "metrics/cosine.h"
#include "metrics/match.h"
#include "metrics/rouge.h"

#include <stdlib.h>
#include <string.h>

struct met_spec {
    char name[32];
    met_kind kind;
    int rouge_type, stem;
    int ignore_case, ignore_punctuation, ignore_numbers, plain;
    char **regexes;
    size_t nregexes;
    met_bleu_opts bleu;
    met_average average;
    int zero_division;
    int has_pos_label;
    met_label pos_label;        /* string owned by the spec */
    met_label *labels;          /* strings owned by the spec */
    size_t nlabels;
};

struct met_scorer {
    const met_spec *spec;
    met_rouge *rouge;
    met_matcher *matcher;
    met_bleu *bleu;
    met_cls *cls;
    met_tfidf *tfidf;
};

int met_label_from_json(met_label *out, const json_t *v)
{
    memset(out, 0, sizeof(*out));
    if (json_is_string(v)) {
        out->kind = MET_LABEL_STR;
        out->s = json_string_value(v);
        out->len = json_string_length(v);
    } else if (json_is_integer(v)) {
        out->kind = MET_LABEL_INT;
        out->i = json_integer_value(v);
    } else if (json_is_real(v)) {
        out->kind = MET_LABEL_FLOAT;
        out->d = json_real_value(v);
    } else if (json_is_boolean(v)) {
        out->kind = MET_LABEL_BOOL;
        out->i = json_is_true(v);
    } else {
        return as_error_set(AS_EINVAL, "a label must be a string, number or boolean");
    }
    return 0;
}

/* A label copy whose string the spec owns. */
static int own_label(met_label *dst, const json_t *v)
{
    int rc;

    if ((rc = met_label_from_json(dst, v)) < 0)
        return rc;
    if (dst->kind == MET_LABEL_STR) {
        char *s = malloc(dst->len + 1);
        if (s == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        memcpy(s, dst->s, dst->len);
        s[dst->len] = '\0';
        dst->s = s;
    }
    return 0;
}

void met_spec_free(met_spec *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->nregexes; i++)
        free(s->regexes[i]);
    free(s->regexes);
    if (s->has_pos_label && s->pos_label.kind == MET_LABEL_STR)
        free((char *)s->pos_label.s);
    for (i = 0; i < s->nlabels; i++)
        if (s->labels[i].kind == MET_LABEL_STR)
            free((char *)s->labels[i].s);
    free(s->labels);
    free(s);
}

static int bad(const met_spec *s, const char *fmt, const char *what)
{
    return as_error_set(AS_EINVAL, "metric '%s': %s%s", s->name, fmt, what);
}

static int get_bool(met_spec *s, const char *key, const json_t *v, int *out)
{
    if (!json_is_boolean(v))
        return bad(s, "option must be true or false: ", key);
    *out = json_is_true(v);
    return 0;
}

/* Does option 'key' apply to this metric? */
static int option_allowed(const met_spec *s, const char *key)
{
    static const struct {
        met_kind kind;
        const char *keys;
    } allowed[] = {
        {MET_EXACT_MATCH, " ignore_case ignore_punctuation ignore_numbers regexes_to_ignore plain "},
        {MET_ROUGE, " stem "},
        {MET_BLEU, " tokenize smooth lowercase "},
        {MET_PRECISION, " average pos_label zero_division labels "},
        {MET_RECALL, " average pos_label zero_division labels "},
        {MET_F1, " average pos_label zero_division labels "},
    };
    size_t i, kl = strlen(key);

    /* the lists below are space-separated: no key is empty or has a space */
    if (kl == 0 || strchr(key, ' '))
        return 0;
    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        const char *p = allowed[i].keys;
        if (allowed[i].kind != s->kind)
            continue;
        while ((p = strstr(p, key)) != NULL) {
            if (p[-1] == ' ' && p[kl] == ' ')
                return 1;
            p += kl;
        }
    }
    return 0;
}

static int parse_option(met_spec *s, const char *key, const json_t *v)
{
    if (!option_allowed(s, key))
        return bad(s, "unknown option ", key);
    if (strcmp(key, "ignore_case") == 0)
        return get_bool(s, key, v, &s->ignore_case);
    if (strcmp(key, "ignore_punctuation") == 0)
        return get_bool(s, key, v, &s->ignore_punctuation);
    if (strcmp(key, "ignore_numbers") == 0)
        return get_bool(s, key, v, &s->ignore_numbers);
    if (strcmp(key, "plain") == 0)
        return get_bool(s, key, v, &s->plain);
    if (strcmp(key, "stem") == 0)
        return get_bool(s, key, v, &s->stem);
    if (strcmp(key, "lowercase") == 0)
        return get_bool(s, key, v, &s->bleu.lowercase);
    if (strcmp(key, "regexes_to_ignore") == 0) {
        size_t i;
        if (!json_is_array(v) || json_array_size(v) > MET_MATCH_MAX_REGEXES)
            return bad(s, "regexes_to_ignore must be an array of at most 32 strings", "");
        if ((s->regexes = calloc(json_array_size(v) + 1, sizeof(char *))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *r = json_array_get(v, i);
            if (!json_is_string(r))
                return bad(s, "regexes_to_ignore must be an array of strings", "");
            if ((s->regexes[i] = strdup(json_string_value(r))) == NULL)
                return as_error_set(AS_ENOMEM, "out of memory");
            s->nregexes++;
        }
        return 0;
    }
    if (strcmp(key, "tokenize") == 0 || strcmp(key, "smooth") == 0) {
        int rc;
        if (!json_is_string(v))
            return bad(s, "option must be a string: ", key);
        rc = key[0] == 't' ? met_bleu_tok_parse(json_string_value(v), &s->bleu.tokenize)
                           : met_bleu_smooth_parse(json_string_value(v), &s->bleu.smooth);
        if (rc < 0)
            return as_error_wrap(rc, "metric '%s'", s->name);
        return 0;
    }
    if (strcmp(key, "average") == 0) {
        const char *a = json_string_value(v);
        if (a && strcmp(a, "binary") == 0)
            s->average = MET_AVG_BINARY;
        else if (a && strcmp(a, "micro") == 0)
            s->average = MET_AVG_MICRO;
        else if (a && strcmp(a, "macro") == 0)
            s->average = MET_AVG_MACRO;
        else if (a && strcmp(a, "weighted") == 0)
            s->average = MET_AVG_WEIGHTED;
        else
            return bad(s, "average must be one of micro, macro, weighted, binary", "");
        return 0;
    }
    if (strcmp(key, "zero_division") == 0) {
        if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1))
            return bad(s, "zero_division must be 0 or 1", "");
        s->zero_division = (int)json_integer_value(v);
        return 0;
    }
    if (strcmp(key, "pos_label") == 0) {
        if (own_label(&s->pos_label, v) < 0)
            return as_error_wrap(AS_EINVAL, "metric '%s': pos_label", s->name);
        s->has_pos_label = 1;
        return 0;
    }
    /* labels */
    {
        size_t i;
        if (!json_is_array(v) || json_array_size(v) == 0 ||
            json_array_size(v) > MET_SPEC_MAX_LABELS)
            return bad(s, "labels must be a non-empty array of at most 1024 labels", "");
        if ((s->labels = calloc(json_array_size(v), sizeof(met_label))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        for (i = 0; i < json_array_size(v); i++) {
            if (own_label(&s->labels[i], json_array_get(v, i)) < 0)
                return as_error_wrap(AS_EINVAL, "metric '%s': labels", s->name);
            s->nlabels++;
        }
        return 0;
    }
}

static int parse_name(met_spec *s, const char *name)
{
    static const struct {
        const char *name;
        met_kind kind;
    } names[] = {
        {"exact_match", MET_EXACT_MATCH}, {"match", MET_MATCH},   {"token_f1", MET_TOKEN_F1},
        {"bleu", MET_BLEU},               {"cosine_tfidf", MET_COSINE_TFIDF},
        {"accuracy", MET_ACCURACY},       {"precision", MET_PRECISION},
        {"recall", MET_RECALL},           {"f1", MET_F1},
    };
    size_t i;

    if (strlen(name) >= sizeof(s->name))
        return as_error_set(AS_EINVAL, "unknown metric '%.40s...'", name);
    memcpy(s->name, name, strlen(name) + 1);
    if (strcmp(name, "judge") == 0)
        return as_error_set(MET_EEVALUATOR, "metric 'judge' is handled by the evaluator");
    if (strcmp(name, MET_COSINE_EMBEDDING) == 0)
        return as_error_set(MET_EEVALUATOR, "metric 'cosine_embedding' is handled by the evaluator");
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            s->kind = names[i].kind;
            return 0;
        }
    }
    if (strncmp(name, "rouge", 5) == 0) {
        int rc = met_rouge_type_parse(name, &s->rouge_type);
        if (rc < 0)
            return as_error_wrap(rc, "metric '%s'", name);
        s->kind = MET_ROUGE;
        return 0;
    }
    return as_error_set(AS_EINVAL,
                        "unknown metric '%s' (exact_match, match, token_f1, rouge1..rouge9, "
                        "rougeL, rougeLsum, bleu, cosine_tfidf, cosine_embedding, accuracy, "
                        "precision, recall, f1, judge)",
                        name);
}

const json_t *met_spec_find(const json_t *specs, const char *name)
{
    const json_t *m;
    size_t i;

    json_array_foreach(specs, i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, name) == 0)
            return m;
    }
    return NULL;
}

/* cosine_embedding's options: "model" (required), the assay model that
 * embeds; whether it exists is the evaluator's to check. */
static int check_embedding(const json_t *spec)
{
    const json_t *m = json_object_get(spec, "model");
    const char *key;
    json_t *v;

    if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) > 128)
        return as_error_set(AS_EINVAL, "metric 'cosine_embedding': option 'model' is required "
                                       "(the name of an embedding model)");
    json_object_foreach((json_t *)spec, key, v) {
        if (strcmp(key, "name") != 0 && strcmp(key, "model") != 0)
            return as_error_set(AS_EINVAL, "metric 'cosine_embedding': unknown option '%.40s'",
                                key);
    }
    return as_error_set(MET_EEVALUATOR, "metric 'cosine_embedding' is handled by the evaluator");
}

int met_spec_parse(met_spec **out, const json_t *spec)
{
    met_spec *s = calloc(1, sizeof(*s));
    const char *name;
    int rc;

    *out = NULL;
    if (s == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->bleu.smooth_value = -1;
    if (json_is_string(spec)) {
        name = json_string_value(spec);
    } else if (json_is_object(spec) && json_is_string(json_object_get(spec, "name"))) {
        name = json_string_value(json_object_get(spec, "name"));
    } else {
        met_spec_free(s);
        return as_error_set(AS_EINVAL, "a metric is a name or an object with a \"name\"");
    }
    if ((rc = parse_name(s, name)) < 0) {
        met_spec_free(s);
        if (rc == MET_EEVALUATOR && strcmp(name, MET_COSINE_EMBEDDING) == 0)
            return check_embedding(spec);
        return rc;
    }
    if (json_is_object(spec)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)spec, key, v) {
            if (strcmp(key, "name") == 0)
                continue;
            if ((rc = parse_option(s, key, v)) < 0) {
                met_spec_free(s);
                return rc;
            }
        }
    }
    if (s->kind == MET_EXACT_MATCH && s->nregexes) {
        /* Compile once here so a bad regex fails at validation time. */
        met_match_opts o = {0, 0, 0, (const char *const *)s->regexes, s->nregexes, 0};
        met_matcher *m;
        if ((rc = met_matcher_new(&m, &o)) < 0) {
            as_error_wrap(rc, "metric '%s'", s->name);
            met_spec_free(s);
            return rc;
        }
        met_matcher_free(m);
    }
    *out = s;
    return 0;
}

const char *met_spec_name(const met_spec *s)
{
    return s->name;
}

met_kind met_spec_kind(const met_spec *s)
{
    return s->kind;
}

int met_spec_is_corpus(const met_spec *s)
{
    return s->kind == MET_ACCURACY || s->kind == MET_PRECISION || s->kind == MET_RECALL ||
           s->kind == MET_F1;
}

static json_t *label_json(const met_label *l)
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

json_t *met_spec_to_json(const met_spec *s)
{
    static const char *const toks[] = {"13a", "none", "intl", "char"};
    static const char *const smooths[] = {"exp", "floor", "add-k", "none"};
    static const char *const avgs[] = {"binary", "micro", "macro", "weighted"};
    json_t *o = json_object();
    size_t i;

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "name", json_string(s->name));
    switch (s->kind) {
    case MET_EXACT_MATCH: {
        json_t *r = json_array();
        json_object_set_new(o, "ignore_case", json_boolean(s->ignore_case));
        json_object_set_new(o, "ignore_punctuation", json_boolean(s->ignore_punctuation));
        json_object_set_new(o, "ignore_numbers", json_boolean(s->ignore_numbers));
        for (i = 0; i < s->nregexes; i++)
            json_array_append_new(r, json_string(s->regexes[i]));
        json_object_set_new(o, "regexes_to_ignore", r);
        json_object_set_new(o, "plain", json_boolean(s->plain));
        break;
    }
    case MET_ROUGE:
        json_object_set_new(o, "stem", json_boolean(s->stem));
        break;
    case MET_BLEU:
        json_object_set_new(o, "tokenize", json_string(toks[s->bleu.tokenize]));
        json_object_set_new(o, "smooth", json_string(smooths[s->bleu.smooth]));
        json_object_set_new(o, "lowercase", json_boolean(s->bleu.lowercase));
        break;
    case MET_PRECISION:
    case MET_RECALL:
    case MET_F1: {
        met_label one = {MET_LABEL_INT, NULL, 0, 1, 0};
        json_object_set_new(o, "average", json_string(avgs[s->average]));
        json_object_set_new(o, "pos_label", label_json(s->has_pos_label ? &s->pos_label : &one));
        json_object_set_new(o, "zero_division", json_integer(s->zero_division));
        if (s->nlabels) {
            json_t *l = json_array();
            for (i = 0; i < s->nlabels; i++)
                json_array_append_new(l, label_json(&s->labels[i]));
            json_object_set_new(o, "labels", l);
        }
        break;
    }
    default:
        break;
    }
    return o;
}

void met_scorer_free(met_scorer *sc)
{
    if (sc == NULL)
        return;
    met_rouge_free(sc->rouge);
    met_matcher_free(sc->matcher);
    met_bleu_free(sc->bleu);
    met_cls_free(sc->cls);
    met_tfidf_free(sc->tfidf);
    free(sc);
}

int met_scorer_new(met_scorer **out, const met_spec *s)
{
    met_scorer *sc = calloc(1, sizeof(*sc));
    int rc = 0;

    *out = NULL;
    if (sc == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    sc->spec = s;
    switch (s->kind) {
    case MET_ROUGE:
        rc = met_rouge_new(&sc->rouge, s->stem);
        break;
    case MET_EXACT_MATCH: {
        met_match_opts o = {s->ignore_case, s->ignore_punctuation, s->ignore_numbers,
                            (const char *const *)s->regexes, s->nregexes, s->plain};
        rc = met_matcher_new(&sc->matcher, &o);
        break;
    }
    case MET_MATCH:
    case MET_TOKEN_F1:
        rc = met_matcher_new(&sc->matcher, NULL);
        break;
    case MET_BLEU:
        rc = met_bleu_new(&sc->bleu, &s->bleu);
        break;
    case MET_ACCURACY:
    case MET_PRECISION:
    case MET_RECALL:
    case MET_F1:
        rc = met_cls_new(&sc->cls);
        break;
    case MET_COSINE_TFIDF:
        rc = met_tfidf_new(&sc->tfidf);
        break;
    }
    if (rc < 0) {
        met_scorer_free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

static int tfidf_case(met_tfidf *t, const char *pred, size_t plen, const char *const *refs,
                      const size_t *ref_lens, size_t nrefs, double *score)
{
    size_t p, d, k;
    int rc;

    *score = 0;
    met_tfidf_reset(t);
    if ((rc = met_tfidf_add(t, pred, plen, &p)) < 0)
        return rc;
    for (k = 0; k < nrefs; k++)
        if ((rc = met_tfidf_add(t, refs[k], ref_lens[k], &d)) < 0)
            return rc;
    if ((rc = met_tfidf_fit(t)) < 0)
        /* No token anywhere: the cosine is 0 rather than a failed case. */
        return rc == AS_EINVAL ? 0 : rc;
    for (k = 0; k < nrefs; k++) {
        double c;
        if ((rc = met_tfidf_cosine(t, p, p + 1 + k, &c)) < 0)
            return rc;
        if (c > *score)
            *score = c;
    }
    if (*score > 1.0)
        *score = 1.0;       /* rounding of a unit vector's self-product */
    return 0;
}

int met_scorer_case(met_scorer *sc, const char *pred, size_t plen, const char *const *refs,
                    const size_t *ref_lens, size_t nrefs, double *score)
{
    const met_spec *s = sc->spec;
    size_t k;
    int rc = 0;

    *score = 0;
    if (nrefs == 0)
        return as_error_set(AS_EINVAL, "metric '%s': no reference", s->name);
    switch (s->kind) {
    case MET_ROUGE: {
        met_prf prf;
        rc = met_rouge_score_multi(sc->rouge, refs, ref_lens, nrefs, pred, plen, &s->rouge_type,
                                   1, &prf);
        *score = prf.fmeasure;
        break;
    }
    case MET_EXACT_MATCH:
    case MET_MATCH:
        for (k = 0; k < nrefs && rc >= 0 && *score < 1; k++) {
            int hit = 0;
            rc = s->kind == MET_MATCH
                     ? met_squad_match(sc->matcher, pred, plen, refs[k], ref_lens[k], &hit)
                     : met_match_exact(sc->matcher, pred, plen, refs[k], ref_lens[k], &hit);
            *score = hit ? 1.0 : *score;
        }
        break;
    case MET_TOKEN_F1:
        for (k = 0; k < nrefs && rc >= 0; k++) {
            double p, r, f;
            rc = met_squad_f1(sc->matcher, pred, plen, refs[k], ref_lens[k], &p, &r, &f);
            if (rc >= 0 && f > *score)
                *score = f;
        }
        break;
    case MET_BLEU: {
        met_bleu_stats st;
        met_bleu_result res;
        if ((rc = met_bleu_segment(sc->bleu, pred, plen, refs, ref_lens, nrefs, &st)) < 0)
            break;
        met_bleu_score(&st, &s->bleu, 1, &res);
        *score = res.score / 100.0;
        if (*score > 1.0)
            *score = 1.0;   /* identical texts give 100.00000000000004 */
        break;
    }
    case MET_COSINE_TFIDF:
        rc = tfidf_case(sc->tfidf, pred, plen, refs, ref_lens, nrefs, score);
        break;
    case MET_ACCURACY:
    case MET_PRECISION:
    case MET_RECALL:
    case MET_F1:
        if (nrefs != 1)
            return as_error_set(AS_EINVAL, "metric '%s': needs exactly one reference (the true "
                                           "label), got %zu", s->name, nrefs);
        if ((rc = met_cls_add_str(sc->cls, refs[0], ref_lens[0], pred, plen)) < 0)
            break;
        *score = ref_lens[0] == plen && memcmp(refs[0], pred, plen) == 0;
        break;
    }
    if (rc < 0)
        return rc;
    if (*score < 0)
        *score = 0;     /* cannot happen for these metrics; keeps [0, 1] a contract */
    return 0;
}

int met_scorer_corpus(met_scorer *sc, double *score)
{
    const met_spec *s = sc->spec;
    met_cls_opts o = {s->labels, s->nlabels, s->has_pos_label ? &s->pos_label : NULL,
                      s->zero_division};
    met_cls_result *r = NULL;
    const met_cls_avg *avg;
    int rc;

    *score = 0;
    if (!met_spec_is_corpus(s))
        return as_error_set(AS_EINVAL, "metric '%s' is per-case, not corpus-level", s->name);
    if ((rc = met_cls_compute(&r, sc->cls, &o)) < 0)
        return as_error_wrap(rc, "metric '%s'", s->name);
    if (s->kind == MET_ACCURACY) {
        *score = r->accuracy;
        met_cls_result_free(r);
        return 0;
    }
    switch (s->average) {
    case MET_AVG_MICRO:
        avg = &r->micro;
        break;
    case MET_AVG_MACRO:
        avg = &r->macro;
        break;
    case MET_AVG_WEIGHTED:
        avg = &r->weighted;
        break;
    default:
        if (!r->has_binary) {
            rc = as_error_set(AS_EINVAL, "metric '%s': %s", s->name, r->binary_error);
            met_cls_result_free(r);
            return rc;
        }
        avg = &r->binary;
        break;
    }
    *score = s->kind == MET_PRECISION ? avg->precision
             : s->kind == MET_RECALL  ? avg->recall
                                      : avg->f1;
    met_cls_result_free(r);
    return 0;
}
