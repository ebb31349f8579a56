/* Loading tokenizer.json and tokenizer_config.json into an eng_tokenizer.
 * Every field is checked: a part of another kind than the supported ones
 * gives AS_EUNSUPPORTED naming it, a malformed one AS_EINVAL naming the
 * field; nothing read is trusted (ids are bounded, strings capped by the
 * file cap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "common/utf8.h"
#include "evaluator/engine/tokenizer_int.h"

#define MAX_IDS ((int64_t)1 << 22) /* ids are below 4M in any real file */
#define MAX_ADDED 100000
#define META "\xE2\x96\x81" /* U+2581, SentencePiece's space */

/* The three pre-tokenizer regexes, as written in tokenizer.json. */
static const char RX_GPT2_TEXT[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char RX_LLAMA3_TEXT[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char RX_QWEN2_TEXT[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

char *tok_keep(eng_tokenizer *t, const char *s, size_t len)
{
    if (t->n_owned == t->cap_owned) {
        size_t cap = t->cap_owned ? t->cap_owned * 2 : 16;
        char **v = realloc(t->owned, cap * sizeof *v);
        if (!v)
            return NULL;
        t->owned = v;
        t->cap_owned = cap;
    }
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    memcpy(c, s, len);
    c[len] = 0;
    t->owned[t->n_owned++] = c;
    return c;
}

static int keep_str(eng_tokenizer *t, const json_t *s, const char **out, size_t *len)
{
    *len = json_string_length(s);
    *out = tok_keep(t, json_string_value(s), *len);
    return *out ? 0 : as_error_set(AS_ENOMEM, "tokenizer: out of memory");
}

/* "type" of a pipeline part, or AS_EINVAL. */
static int part_type(const json_t *o, const char *what, const char **type)
{
    if (!json_is_object(o))
        return as_error_set(AS_EINVAL, "tokenizer.json: %s is not an object", what);
    const json_t *ty = json_object_get(o, "type");
    if (!json_is_string(ty))
        return as_error_set(AS_EINVAL, "tokenizer.json: %s has no type", what);
    *type = json_string_value(ty);
    return 0;
}

static int get_bool(const json_t *o, const char *key, int dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* {"String": s} pattern of Replace and Split; a Regex pattern is refused
 * unless 'regex' is given (Split), which then gets the regex text. */
static int string_pattern(const json_t *o, const char *what, const json_t **str,
                          const json_t **regex)
{
    const json_t *p = json_object_get(o, "pattern");
    *str = json_object_get(p, "String");
    if (json_is_string(*str) && json_string_length(*str) > 0)
        return 0;
    *str = NULL;
    const json_t *rx = json_object_get(p, "Regex");
    if (json_is_string(rx)) {
        if (regex) {
            *regex = rx;
            return 0;
        }
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: %s with a regex pattern "
                            "is not supported",
                            what);
    }
    return as_error_set(AS_EINVAL, "tokenizer.json: %s has no pattern", what);
}

static int add_norm(eng_tokenizer *t, const json_t *o, int depth)
{
    const char *type = NULL;
    int rc;
    if (depth > 4)
        return as_error_set(AS_EINVAL, "tokenizer.json: normalizer nested too deeply");
    if ((rc = part_type(o, "normalizer", &type)) < 0)
        return rc;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(o, "normalizers"), *v;
        size_t i;
        if (!json_is_array(arr))
            return as_error_set(AS_EINVAL, "tokenizer.json: normalizer Sequence has no list");
        json_array_foreach(arr, i, v)
        {
            if ((rc = add_norm(t, v, depth + 1)) < 0)
                return rc;
        }
        return 0;
    }
    if (t->n_norm == TOK_MAX_STEPS)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: too many normalizers");
    tok_norm *n = &t->norm[t->n_norm];
    memset(n, 0, sizeof *n);
    if (strcmp(type, "NFC") == 0) {
        n->kind = NORM_NFC;
    } else if (strcmp(type, "Prepend") == 0) {
        const json_t *p = json_object_get(o, "prepend");
        if (!json_is_string(p))
            return as_error_set(AS_EINVAL, "tokenizer.json: Prepend has no prepend string");
        n->kind = NORM_PREPEND;
        if ((rc = keep_str(t, p, &n->a, &n->alen)) < 0)
            return rc;
    } else if (strcmp(type, "Replace") == 0) {
        const json_t *pat, *content = json_object_get(o, "content");
        if ((rc = string_pattern(o, "normalizer Replace", &pat, NULL)) < 0)
            return rc;
        if (!json_is_string(content))
            return as_error_set(AS_EINVAL, "tokenizer.json: Replace has no content");
        n->kind = NORM_REPLACE;
        if ((rc = keep_str(t, pat, &n->a, &n->alen)) < 0 ||
            (rc = keep_str(t, content, &n->b, &n->blen)) < 0)
            return rc;
    } else {
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: normalizer %s is not "
                            "supported (NFC, Prepend, Replace, Sequence are)",
                            type);
    }
    t->n_norm++;
    return 0;
}

static int parse_behavior(const json_t *o, tok_split_behavior *out)
{
    const char *b = json_string_value(json_object_get(o, "behavior"));
    static const struct {
        const char *name;
        tok_split_behavior v;
    } names[] = {{"Removed", SPL_REMOVED},
                 {"Isolated", SPL_ISOLATED},
                 {"MergedWithPrevious", SPL_MERGED_PREV},
                 {"MergedWithNext", SPL_MERGED_NEXT},
                 {"Contiguous", SPL_CONTIGUOUS}};
    for (size_t i = 0; b && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(b, names[i].name) == 0) {
            *out = names[i].v;
            return 0;
        }
    }
    return as_error_set(AS_EINVAL, "tokenizer.json: Split has no valid behavior");
}

static int parse_prepend(const json_t *o, tok_prepend *out)
{
    const json_t *ps = json_object_get(o, "prepend_scheme");
    if (json_is_string(ps)) {
        const char *s = json_string_value(ps);
        if (strcmp(s, "always") == 0)
            *out = PREPEND_ALWAYS;
        else if (strcmp(s, "first") == 0)
            *out = PREPEND_FIRST;
        else if (strcmp(s, "never") == 0)
            *out = PREPEND_NEVER;
        else
            return as_error_set(AS_EINVAL, "tokenizer.json: Metaspace prepend_scheme %s", s);
        return 0;
    }
    /* older files: add_prefix_space */
    *out = get_bool(o, "add_prefix_space", 1) ? PREPEND_ALWAYS : PREPEND_NEVER;
    return 0;
}

static int replacement(eng_tokenizer *t, const json_t *o, const char **s, size_t *len)
{
    const json_t *r = json_object_get(o, "replacement");
    if (!json_is_string(r) || json_string_length(r) == 0 || json_string_length(r) > 4)
        return as_error_set(AS_EINVAL, "tokenizer.json: Metaspace has no replacement");
    return keep_str(t, r, s, len);
}

static int add_pre(eng_tokenizer *t, const json_t *o, int depth)
{
    const char *type = NULL;
    int rc;
    if (depth > 4)
        return as_error_set(AS_EINVAL, "tokenizer.json: pre_tokenizer nested too deeply");
    if ((rc = part_type(o, "pre_tokenizer", &type)) < 0)
        return rc;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(o, "pretokenizers"), *v;
        size_t i;
        if (!json_is_array(arr))
            return as_error_set(AS_EINVAL, "tokenizer.json: pre_tokenizer Sequence has no list");
        json_array_foreach(arr, i, v)
        {
            if ((rc = add_pre(t, v, depth + 1)) < 0)
                return rc;
        }
        return 0;
    }
    if (t->n_pre == TOK_MAX_STEPS)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: too many pre-tokenizers");
    if (t->byte_level)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: a pre-tokenizer after "
                                             "ByteLevel is not supported");
    tok_pre *p = &t->pre[t->n_pre];
    memset(p, 0, sizeof *p);
    if (strcmp(type, "Split") == 0) {
        const json_t *str = NULL, *rx = NULL;
        if ((rc = string_pattern(o, "Split", &str, &rx)) < 0 ||
            (rc = parse_behavior(o, &p->behavior)) < 0)
            return rc;
        if (get_bool(o, "invert", 0))
            return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: Split with invert "
                                                 "is not supported");
        if (str) {
            p->kind = PRE_SPLIT_STRING;
            if ((rc = keep_str(t, str, &p->str, &p->slen)) < 0)
                return rc;
        } else {
            const char *r = json_string_value(rx);
            p->kind = PRE_SPLIT_REGEX;
            if (strcmp(r, RX_GPT2_TEXT) == 0)
                p->regex = RX_GPT2;
            else if (strcmp(r, RX_LLAMA3_TEXT) == 0)
                p->regex = RX_LLAMA3;
            else if (strcmp(r, RX_QWEN2_TEXT) == 0)
                p->regex = RX_QWEN2;
            else
                return as_error_set(AS_EUNSUPPORTED,
                                    "tokenizer.json: the Split regex is "
                                    "not one of the GPT-2, Llama 3 or Qwen2 patterns");
            if (p->behavior != SPL_ISOLATED)
                return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: a regex Split "
                                                     "must be Isolated");
        }
    } else if (strcmp(type, "ByteLevel") == 0) {
        p->kind = PRE_BYTELEVEL;
        p->add_prefix_space = get_bool(o, "add_prefix_space", 0);
        p->use_regex = get_bool(o, "use_regex", 1);
        t->byte_level = 1;
    } else if (strcmp(type, "Metaspace") == 0) {
        p->kind = PRE_METASPACE;
        p->split = get_bool(o, "split", 1);
        if ((rc = parse_prepend(o, &p->prepend)) < 0 ||
            (rc = replacement(t, o, &p->str, &p->slen)) < 0)
            return rc;
    } else {
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: pre-tokenizer %s is not "
                            "supported (Split, ByteLevel, Metaspace, Sequence are)",
                            type);
    }
    t->n_pre++;
    return 0;
}

static int add_dec(eng_tokenizer *t, const json_t *o, int depth)
{
    const char *type = NULL;
    int rc;
    if (depth > 4)
        return as_error_set(AS_EINVAL, "tokenizer.json: decoder nested too deeply");
    if ((rc = part_type(o, "decoder", &type)) < 0)
        return rc;
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(o, "decoders"), *v;
        size_t i;
        if (!json_is_array(arr))
            return as_error_set(AS_EINVAL, "tokenizer.json: decoder Sequence has no list");
        json_array_foreach(arr, i, v)
        {
            if ((rc = add_dec(t, v, depth + 1)) < 0)
                return rc;
        }
        return 0;
    }
    if (t->n_dec == TOK_MAX_STEPS)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: too many decoders");
    tok_dec *d = &t->dec[t->n_dec];
    memset(d, 0, sizeof *d);
    if (strcmp(type, "ByteLevel") == 0) {
        d->kind = DEC_BYTELEVEL;
    } else if (strcmp(type, "ByteFallback") == 0) {
        d->kind = DEC_BYTEFALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        d->kind = DEC_FUSE;
    } else if (strcmp(type, "Replace") == 0) {
        const json_t *pat, *content = json_object_get(o, "content");
        if ((rc = string_pattern(o, "decoder Replace", &pat, NULL)) < 0)
            return rc;
        if (!json_is_string(content))
            return as_error_set(AS_EINVAL, "tokenizer.json: Replace has no content");
        d->kind = DEC_REPLACE;
        if ((rc = keep_str(t, pat, &d->a, &d->alen)) < 0 ||
            (rc = keep_str(t, content, &d->b, &d->blen)) < 0)
            return rc;
    } else if (strcmp(type, "Strip") == 0) {
        const json_t *c = json_object_get(o, "content");
        json_int_t start = json_integer_value(json_object_get(o, "start"));
        json_int_t stop = json_integer_value(json_object_get(o, "stop"));
        if (!json_is_string(c) || json_string_length(c) == 0 || start < 0 || start > 64)
            return as_error_set(AS_EINVAL, "tokenizer.json: Strip needs content and start");
        if (stop != 0)
            return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: Strip with stop > 0 "
                                                 "is not supported");
        d->kind = DEC_STRIP;
        d->start = (int)start;
        if ((rc = keep_str(t, c, &d->a, &d->alen)) < 0)
            return rc;
    } else if (strcmp(type, "Metaspace") == 0) {
        d->kind = DEC_METASPACE;
        if ((rc = parse_prepend(o, &d->prepend)) < 0 ||
            (rc = replacement(t, o, &d->a, &d->alen)) < 0)
            return rc;
    } else {
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: decoder %s is not supported "
                            "(ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, "
                            "Sequence are)",
                            type);
    }
    t->n_dec++;
    return 0;
}

static int post_push(int32_t *v, size_t *n, int32_t id)
{
    if (*n == TOK_MAX_POST)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: post-processor adds too "
                                             "many tokens");
    v[(*n)++] = id;
    return 0;
}

static int add_post(eng_tokenizer *t, const json_t *o, int depth)
{
    const char *type = NULL;
    int rc;
    if (depth > 4)
        return as_error_set(AS_EINVAL, "tokenizer.json: post_processor nested too deeply");
    if ((rc = part_type(o, "post_processor", &type)) < 0)
        return rc;
    if (strcmp(type, "ByteLevel") == 0)
        return 0; /* offsets only */
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(o, "processors"), *v;
        size_t i;
        if (!json_is_array(arr))
            return as_error_set(AS_EINVAL, "tokenizer.json: post_processor Sequence has "
                                           "no list");
        json_array_foreach(arr, i, v)
        {
            if ((rc = add_post(t, v, depth + 1)) < 0)
                return rc;
        }
        return 0;
    }
    if (strcmp(type, "TemplateProcessing") != 0)
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: post-processor %s is not "
                            "supported (TemplateProcessing, ByteLevel, Sequence are)",
                            type);
    const json_t *single = json_object_get(o, "single");
    const json_t *specials = json_object_get(o, "special_tokens");
    const json_t *item;
    size_t i;
    int seen_a = 0;
    if (!json_is_array(single) || !json_is_object(specials))
        return as_error_set(AS_EINVAL, "tokenizer.json: TemplateProcessing needs single "
                                       "and special_tokens");
    json_array_foreach(single, i, item)
    {
        const json_t *st = json_object_get(item, "SpecialToken");
        if (json_object_get(item, "Sequence")) {
            seen_a = 1;
            continue;
        }
        const char *name = json_string_value(json_object_get(st, "id"));
        const json_t *ids = json_object_get(json_object_get(specials, name ? name : ""), "ids");
        const json_t *idv;
        size_t k;
        if (!name || !json_is_array(ids))
            return as_error_set(AS_EINVAL,
                                "tokenizer.json: TemplateProcessing item %zu "
                                "names no special token",
                                i);
        json_array_foreach(ids, k, idv)
        {
            json_int_t id = json_integer_value(idv);
            if (!json_is_integer(idv) || id < 0 || id >= t->n_ids)
                return as_error_set(AS_EINVAL,
                                    "tokenizer.json: TemplateProcessing id of "
                                    "%s out of range",
                                    name);
            rc = seen_a ? post_push(t->post_suffix, &t->n_post_suffix, (int32_t)id)
                        : post_push(t->post_prefix, &t->n_post_prefix, (int32_t)id);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Add s[0..len) to the arena; its offset in *off. */
static int arena_add(eng_tokenizer *t, const char *s, size_t len, uint32_t *off)
{
    if (t->arena.len + len + 1 > UINT32_MAX)
        return as_error_set(AS_ETOOBIG, "tokenizer.json: too much vocabulary text");
    *off = (uint32_t)t->arena.len;
    int rc = as_buf_append(&t->arena, s, len);
    if (rc == 0)
        rc = as_buf_putc(&t->arena, 0);
    return rc;
}

static int load_vocab(eng_tokenizer *t, const json_t *vocab, const json_t *added)
{
    const char *key;
    const json_t *v;
    int64_t max_id = -1;
    int rc;
    json_object_foreach((json_t *)vocab, key, v)
    {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= MAX_IDS)
            return as_error_set(AS_EINVAL, "tokenizer.json: vocab entry has an invalid id");
        if (id > max_id)
            max_id = id;
    }
    size_t i;
    json_array_foreach(added, i, v)
    {
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        if (!json_is_integer(json_object_get(v, "id")) || id < 0 || id >= MAX_IDS ||
            !json_is_string(json_object_get(v, "content")))
            return as_error_set(AS_EINVAL,
                                "tokenizer.json: added token %zu has no valid "
                                "id and content",
                                i);
        if (id > max_id)
            max_id = id;
    }
    if (max_id < 0)
        return as_error_set(AS_EINVAL, "tokenizer.json: empty vocabulary");
    t->n_ids = (int32_t)(max_id + 1);
    t->piece_off = malloc((size_t)t->n_ids * sizeof *t->piece_off);
    t->piece_len = calloc((size_t)t->n_ids, sizeof *t->piece_len);
    t->is_special = calloc((size_t)t->n_ids, 1);
    if (!t->piece_off || !t->piece_len || !t->is_special)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    memset(t->piece_off, 0xFF, (size_t)t->n_ids * sizeof *t->piece_off);
    size_t nv = json_object_size(vocab), na = json_array_size(added);
    if ((rc = tok_strmap_init(&t->vocab, nv)) < 0 || (rc = tok_strmap_init(&t->all, nv + na)) < 0)
        return rc;
    json_object_foreach((json_t *)vocab, key, v)
    {
        int32_t id = (int32_t)json_integer_value(v);
        size_t klen = strlen(key);
        uint32_t off = 0;
        if ((rc = arena_add(t, key, klen, &off)) < 0)
            return rc;
        t->piece_off[id] = off;
        t->piece_len[id] = (uint32_t)klen;
    }
    /* the map keys point into the arena, so fill them once it is complete */
    json_object_foreach((json_t *)vocab, key, v)
    {
        int32_t id = (int32_t)json_integer_value(v);
        size_t klen = strlen(key);
        if (t->piece_len[id] == klen && memcmp(tok_piece(t, id), key, klen) == 0) {
            if ((rc = tok_strmap_put(&t->vocab, t->arena.data, t->piece_off[id], (uint32_t)klen,
                                     id)) < 0 ||
                (rc = tok_strmap_put(&t->all, t->arena.data, t->piece_off[id], (uint32_t)klen,
                                     id)) < 0)
                return rc;
        } else {
            /* two strings with one id: the map keeps its own copy */
            uint32_t off = 0;
            if ((rc = arena_add(t, key, klen, &off)) < 0 ||
                (rc = tok_strmap_put(&t->vocab, t->arena.data, off, (uint32_t)klen, id)) < 0)
                return rc;
        }
    }
    return 0;
}

static int load_added(eng_tokenizer *t, const json_t *added)
{
    size_t i, n = json_array_size(added);
    const json_t *v;
    int rc;
    if (n > MAX_ADDED)
        return as_error_set(AS_ETOOBIG, "tokenizer.json: more than %d added tokens", MAX_ADDED);
    if (n == 0)
        return 0;
    t->added = calloc(n, sizeof *t->added);
    t->norm_content = calloc(n, sizeof *t->norm_content);
    t->norm_len = calloc(n, sizeof *t->norm_len);
    if (!t->added || !t->norm_content || !t->norm_len)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    /* one id per added token: the pieces below are looked up by id */
    unsigned char *seen = calloc((size_t)t->n_ids, 1);
    if (!seen)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    json_array_foreach(added, i, v)
    {
        int32_t id = (int32_t)json_integer_value(json_object_get(v, "id"));
        if (seen[id]) {
            free(seen);
            return as_error_set(AS_EINVAL, "tokenizer.json: added token id %d appears twice", id);
        }
        seen[id] = 1;
    }
    free(seen);
    json_array_foreach(added, i, v)
    {
        tok_added *a = &t->added[i];
        const json_t *c = json_object_get(v, "content");
        a->id = (int32_t)json_integer_value(json_object_get(v, "id"));
        a->special = get_bool(v, "special", 0);
        a->lstrip = get_bool(v, "lstrip", 0);
        a->rstrip = get_bool(v, "rstrip", 0);
        a->single_word = get_bool(v, "single_word", 0);
        a->normalized = get_bool(v, "normalized", !a->special);
        if ((rc = keep_str(t, c, &a->content, &a->len)) < 0)
            return rc;
        if (a->len == 0 || as_utf8_valid(a->content, a->len, NULL) != 1)
            return as_error_set(AS_EINVAL,
                                "tokenizer.json: added token %d has empty or "
                                "invalid content",
                                a->id);
        t->n_added++;
        uint32_t off = 0;
        if ((rc = arena_add(t, a->content, a->len, &off)) < 0)
            return rc;
        t->piece_off[a->id] = off;
        t->piece_len[a->id] = (uint32_t)a->len;
        t->is_special[a->id] = a->special;
    }
    for (i = 0; i < t->n_added; i++) {
        tok_added *a = &t->added[i];
        if ((rc = tok_strmap_put(&t->all, t->arena.data, t->piece_off[a->id], (uint32_t)a->len,
                                 a->id)) < 0)
            return rc;
        if (!a->normalized) {
            rc = tok_trie_add(&t->raw_trie, a->content, a->len, (int32_t)i);
        } else {
            as_buf nb;
            as_buf_init(&nb, a->len * 8 + 64);
            rc = tok_normalize(t, a->content, a->len, &nb);
            if (rc == 0) {
                t->norm_len[i] = nb.len;
                t->norm_content[i] = tok_keep(t, nb.data ? nb.data : "", nb.len);
                if (!t->norm_content[i])
                    rc = as_error_set(AS_ENOMEM, "tokenizer: out of memory");
            }
            if (rc == 0)
                rc = tok_trie_add(&t->norm_trie, t->norm_content[i], t->norm_len[i], (int32_t)i);
            as_buf_free(&nb);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_merges(eng_tokenizer *t, const json_t *merges)
{
    size_t i, n = json_array_size(merges);
    const json_t *m;
    int rc;
    char *cat = NULL;
    size_t catcap = 0;
    if ((rc = tok_pairmap_init(&t->merges, n)) < 0)
        return rc;
    t->meta_split = !t->byte_level && !t->ignore_merges;
    json_array_foreach(merges, i, m)
    {
        const char *a, *b;
        size_t alen, blen;
        if (json_is_string(m)) {
            const char *s = json_string_value(m), *sp = strchr(s, ' ');
            size_t len = json_string_length(m);
            if (!sp || strchr(sp + 1, ' ')) {
                rc = as_error_set(AS_EINVAL, "tokenizer.json: merge %zu is not \"a b\"", i);
                break;
            }
            a = s;
            alen = (size_t)(sp - s);
            b = sp + 1;
            blen = len - alen - 1;
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            alen = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            blen = json_string_length(json_array_get(m, 1));
        } else {
            rc = as_error_set(AS_EINVAL,
                              "tokenizer.json: merge %zu is neither \"a b\" nor "
                              "[\"a\", \"b\"]",
                              i);
            break;
        }
        if (alen + blen > catcap) {
            catcap = (alen + blen) * 2 + 64;
            char *c = realloc(cat, catcap);
            if (!c) {
                rc = as_error_set(AS_ENOMEM, "tokenizer: out of memory");
                break;
            }
            cat = c;
        }
        memcpy(cat, a, alen);
        memcpy(cat + alen, b, blen);
        int32_t ia = tok_strmap_get(&t->vocab, t->arena.data, a, alen);
        int32_t ib = tok_strmap_get(&t->vocab, t->arena.data, b, blen);
        int32_t iab = tok_strmap_get(&t->vocab, t->arena.data, cat, alen + blen);
        if (ia < 0 || ib < 0 || iab < 0) {
            rc = as_error_set(AS_EINVAL,
                              "tokenizer.json: merge %zu uses a token that is "
                              "not in the vocabulary",
                              i);
            break;
        }
        tok_pairmap_put(&t->merges, ia, ib, (uint32_t)i, iab);
        if (blen >= 3 && memcmp(b, META, 3) == 0 &&
            (alen < 3 || memcmp(a + alen - 3, META, 3) != 0))
            t->meta_split = 0;
    }
    free(cat);
    return rc;
}

static int load_model(eng_tokenizer *t, const json_t *model)
{
    const char *type = json_string_value(json_object_get(model, "type"));
    const json_t *merges = json_object_get(model, "merges");
    const json_t *dropout = json_object_get(model, "dropout");
    const char *cs = json_string_value(json_object_get(model, "continuing_subword_prefix"));
    const char *ew = json_string_value(json_object_get(model, "end_of_word_suffix"));
    if (type ? strcmp(type, "BPE") != 0 : !merges)
        return as_error_set(AS_EUNSUPPORTED,
                            "tokenizer.json: model type %s is not "
                            "supported (BPE is)",
                            type ? type : "(none)");
    if (!json_is_array(merges))
        return as_error_set(AS_EINVAL, "tokenizer.json: BPE model has no merges list");
    if (dropout && !json_is_null(dropout) && json_number_value(dropout) != 0.0)
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: BPE dropout is not supported");
    if ((cs && *cs) || (ew && *ew))
        return as_error_set(AS_EUNSUPPORTED, "tokenizer.json: BPE subword prefix/suffix is "
                                             "not supported");
    t->ignore_merges = get_bool(model, "ignore_merges", 0);
    t->byte_fallback = get_bool(model, "byte_fallback", 0);
    t->fuse_unk = get_bool(model, "fuse_unk", 0);
    return load_merges(t, merges);
}

static int finish(eng_tokenizer *t, const json_t *model)
{
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    t->unk_id = unk ? tok_strmap_get(&t->vocab, t->arena.data, unk, strlen(unk)) : -1;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = tok_strmap_get(&t->vocab, t->arena.data, name, 6);
        char u[4];
        size_t k = as_utf8_encode(tok_byte_to_cp((unsigned char)b), u);
        t->byte_sym[b] = tok_strmap_get(&t->vocab, t->arena.data, u, k);
    }
    if (!t->byte_level) {
        t->bmp_id = malloc(0x10000 * sizeof *t->bmp_id);
        if (!t->bmp_id)
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        for (uint32_t cp = 0; cp < 0x10000; cp++) {
            char u[4];
            size_t k = as_utf8_encode(cp, u);
            t->bmp_id[cp] = k ? tok_strmap_get(&t->vocab, t->arena.data, u, k) : -1;
        }
    }
    t->bos = t->n_post_prefix ? t->post_prefix[0] : -1;
    t->eos = -1;
    t->pad = -1;
    static const char *const eos_names[] = {"</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>"};
    for (size_t i = 0; t->eos < 0 && i < sizeof eos_names / sizeof eos_names[0]; i++)
        t->eos = eng_tok_piece_to_id(t, eos_names[i]);
    t->pad = eng_tok_piece_to_id(t, "<pad>");
    return 0;
}

int tok_load_json(eng_tokenizer *t, const char *json, size_t len)
{
    json_t *root = NULL;
    int rc;
    as_buf_init(&t->arena, ENG_TOK_FILE_MAX);
    if ((rc = as_json_parse(&root, json, len, "tokenizer.json")) < 0)
        return rc;
    const json_t *model = json_object_get(root, "model");
    const json_t *vocab = json_object_get(model, "vocab");
    const json_t *added = json_object_get(root, "added_tokens");
    const json_t *part;
    if (!json_is_object(root) || !json_is_object(model)) {
        rc = as_error_set(AS_EINVAL, "tokenizer.json: no model object");
        goto out;
    }
    if (added && !json_is_null(added) && !json_is_array(added)) {
        rc = as_error_set(AS_EINVAL, "tokenizer.json: added_tokens is not a list");
        goto out;
    }
    if (!json_is_array(added))
        added = NULL;
    if (!json_is_object(vocab)) {
        const char *type = json_string_value(json_object_get(model, "type"));
        if (type && strcmp(type, "BPE") != 0)
            rc = as_error_set(AS_EUNSUPPORTED,
                              "tokenizer.json: model type %s is not "
                              "supported (BPE is)",
                              type);
        else
            rc = as_error_set(AS_EINVAL, "tokenizer.json: model has no vocab object");
        goto out;
    }
    json_t *empty = json_array();
    if (!empty) {
        rc = as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        goto out;
    }
    rc = load_vocab(t, vocab, added ? added : empty);
    json_decref(empty);
    if (rc < 0)
        goto out;
    if ((part = json_object_get(root, "normalizer")) && !json_is_null(part) &&
        (rc = add_norm(t, part, 0)) < 0)
        goto out;
    if ((part = json_object_get(root, "pre_tokenizer")) && !json_is_null(part) &&
        (rc = add_pre(t, part, 0)) < 0)
        goto out;
    if ((part = json_object_get(root, "decoder")) && !json_is_null(part) &&
        (rc = add_dec(t, part, 0)) < 0)
        goto out;
    if ((part = json_object_get(root, "post_processor")) && !json_is_null(part) &&
        (rc = add_post(t, part, 0)) < 0)
        goto out;
    if (added && (rc = load_added(t, added)) < 0)
        goto out;
    if ((rc = load_model(t, model)) < 0)
        goto out;
    rc = finish(t, model);
out:
    json_decref(root);
    return rc;
}

/* A special token entry of tokenizer_config.json: a string or an
 * AddedToken object {"content": ...}; -1 when absent or unknown. */
static int32_t config_token(const eng_tokenizer *t, const json_t *cfg, const char *key)
{
    const json_t *v = json_object_get(cfg, key);
    if (json_is_object(v))
        v = json_object_get(v, "content");
    if (!json_is_string(v))
        return -1;
    return eng_tok_piece_to_id(t, json_string_value(v));
}

int tok_load_config(eng_tokenizer *t, const char *json, size_t len)
{
    json_t *cfg;
    json_error_t err;
    int rc = 0;
    /* integers as reals: transformers writes model_max_length as
     * 1000000000000000019884624838656, past what jansson's integers hold */
    if (!(cfg = json_loadb(json, len, JSON_DECODE_INT_AS_REAL, &err)))
        return as_error_set(AS_EINVAL, "tokenizer_config.json: line %d column %d: %s", err.line,
                            err.column, err.text);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return as_error_set(AS_EINVAL, "tokenizer_config.json: not an object");
    }
    int32_t id;
    if (json_object_get(cfg, "bos_token"))
        t->bos = config_token(t, cfg, "bos_token");
    if ((id = config_token(t, cfg, "eos_token")) >= 0)
        t->eos = id;
    if ((id = config_token(t, cfg, "pad_token")) >= 0)
        t->pad = id;
    if ((id = config_token(t, cfg, "unk_token")) >= 0 && t->unk_id < 0)
        t->unk_id = id;
    const json_t *ct = json_object_get(cfg, "chat_template");
    const char *tpl = json_string_value(ct);
    if (json_is_array(ct)) {
        /* [{"name": "default", "template": ...}, ...] */
        const json_t *e;
        size_t i;
        json_array_foreach(ct, i, e)
        {
            const char *name = json_string_value(json_object_get(e, "name"));
            if (name && strcmp(name, "default") == 0)
                tpl = json_string_value(json_object_get(e, "template"));
        }
    }
    if (tpl && !(t->chat_template = strdup(tpl)))
        rc = as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    json_decref(cfg);
    return rc;
}
