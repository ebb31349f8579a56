/* safetensors parsing, validation and memory-mapped opening of model folders
 * (see safetensors.h for the format and what is checked). */
#include "evaluator/engine/safetensors.h"

#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_MAX ((size_t)64 << 20)

static const struct {
    const char *name;
    size_t size;
} dtypes[ENG_DT_COUNT] = {
    [ENG_DT_F32] = {"F32", 4},   [ENG_DT_F16] = {"F16", 2},   [ENG_DT_BF16] = {"BF16", 2},
    [ENG_DT_F64] = {"F64", 8},   [ENG_DT_I8] = {"I8", 1},     [ENG_DT_I16] = {"I16", 2},
    [ENG_DT_I32] = {"I32", 4},   [ENG_DT_I64] = {"I64", 8},   [ENG_DT_U8] = {"U8", 1},
    [ENG_DT_U16] = {"U16", 2},   [ENG_DT_U32] = {"U32", 4},   [ENG_DT_U64] = {"U64", 8},
    [ENG_DT_BOOL] = {"BOOL", 1}, [ENG_DT_F8_E4M3] = {"F8_E4M3", 1},
    [ENG_DT_F8_E5M2] = {"F8_E5M2", 1},
};

const char *eng_dtype_name(eng_dtype dt)
{
    return (unsigned)dt < ENG_DT_COUNT ? dtypes[dt].name : "?";
}

size_t eng_dtype_size(eng_dtype dt)
{
    return (unsigned)dt < ENG_DT_COUNT ? dtypes[dt].size : 0;
}

void eng_st_table_clear(eng_st_table *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++)
        free(t->t[i].name);
    free(t->t);
    t->t = NULL;
    t->n = 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const eng_tensor *)a)->name, ((const eng_tensor *)b)->name);
}

static int cmp_offset(const void *a, const void *b)
{
    const eng_tensor *x = *(const eng_tensor *const *)a, *y = *(const eng_tensor *const *)b;
    const uint8_t *px = x->data, *py = y->data;

    return px < py ? -1 : px > py;
}

/* Fill 'ten' from one header entry; 'data' is the buffer start. */
static int parse_entry(eng_tensor *ten, const char *name, const json_t *v, const uint8_t *data,
                       uint64_t data_len, const char *what)
{
    const json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
    const json_t *offs = json_object_get(v, "data_offsets");
    uint64_t numel = 1, nbytes, b, e;
    size_t i;
    int d;

    if (!json_is_object(v) || !json_is_string(dt) || !json_is_array(shape) ||
        !json_is_array(offs) || json_array_size(offs) != 2)
        return as_error_set(AS_EINVAL, "%s: tensor '%s': needs dtype, shape and data_offsets [begin,end]",
                            what, name);
    for (d = 0; d < ENG_DT_COUNT; d++)
        if (strcmp(json_string_value(dt), dtypes[d].name) == 0)
            break;
    if (d == ENG_DT_COUNT)
        return as_error_set(AS_EINVAL, "%s: tensor '%s': unknown dtype '%.32s'", what, name,
                            json_string_value(dt));
    ten->dtype = (eng_dtype)d;
    if (json_array_size(shape) > ENG_ST_MAX_DIMS)
        return as_error_set(AS_EINVAL, "%s: tensor '%s': more than %d dimensions", what, name,
                            ENG_ST_MAX_DIMS);
    ten->ndim = (int)json_array_size(shape);
    for (i = 0; i < json_array_size(shape); i++) {
        const json_t *s = json_array_get(shape, i);
        json_int_t n = json_is_integer(s) ? json_integer_value(s) : -1;

        if (n < 0 || (uint64_t)n > data_len + 1)
            return as_error_set(AS_EINVAL, "%s: tensor '%s': bad shape", what, name);
        ten->shape[i] = n;
        if (__builtin_mul_overflow(numel, (uint64_t)n, &numel))
            return as_error_set(AS_EINVAL, "%s: tensor '%s': shape overflows", what, name);
    }
    if (!json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1)) ||
        json_integer_value(json_array_get(offs, 0)) < 0 ||
        json_integer_value(json_array_get(offs, 1)) < 0)
        return as_error_set(AS_EINVAL, "%s: tensor '%s': data_offsets must be two integers >= 0",
                            what, name);
    b = (uint64_t)json_integer_value(json_array_get(offs, 0));
    e = (uint64_t)json_integer_value(json_array_get(offs, 1));
    if (b > e || e > data_len)
        return as_error_set(AS_EINVAL,
                            "%s: tensor '%s': data_offsets [%llu,%llu] outside the %llu-byte buffer",
                            what, name, (unsigned long long)b, (unsigned long long)e,
                            (unsigned long long)data_len);
    if (__builtin_mul_overflow(numel, (uint64_t)dtypes[d].size, &nbytes) || nbytes != e - b)
        return as_error_set(AS_EINVAL, "%s: tensor '%s': shape x %s is not %llu bytes", what, name,
                            dtypes[d].name, (unsigned long long)(e - b));
    ten->numel = (int64_t)numel;
    ten->nbytes = (size_t)nbytes;
    ten->data = data + b;
    if ((ten->name = strdup(name)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

int eng_st_parse(eng_st_table *out, const uint8_t *buf, size_t size, const char *what)
{
    uint64_t hlen = 0, data_len;
    json_t *root = NULL;
    const char *key;
    json_t *v;
    eng_tensor **by_off = NULL;
    size_t i, n;
    int rc, k;

    memset(out, 0, sizeof *out);
    if (size < 8)
        return as_error_set(AS_EINVAL, "%s: %zu bytes: too short for a safetensors file", what, size);
    for (k = 7; k >= 0; k--)
        hlen = (hlen << 8) | buf[k];
    if (hlen > ENG_ST_HEADER_MAX)
        return as_error_set(AS_ETOOBIG, "%s: header of %llu bytes is over the %llu-byte limit", what,
                            (unsigned long long)hlen, (unsigned long long)ENG_ST_HEADER_MAX);
    if (hlen < 2 || hlen > size - 8)
        return as_error_set(AS_EINVAL, "%s: header size %llu does not fit the %zu-byte file", what,
                            (unsigned long long)hlen, size);
    if (buf[8] != '{')
        return as_error_set(AS_EINVAL, "%s: header does not start with '{'", what);
    if ((rc = as_json_parse(&root, (const char *)buf + 8, (size_t)hlen, what)) < 0)
        return rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return as_error_set(AS_EINVAL, "%s: header is not a JSON object", what);
    }
    data_len = size - 8 - hlen;
    n = json_object_size(root) - (json_object_get(root, "__metadata__") != NULL);
    if ((out->t = calloc(n ? n : 1, sizeof *out->t)) == NULL) {
        json_decref(root);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;

            if (!json_is_object(v)) {
                rc = as_error_set(AS_EINVAL, "%s: __metadata__ is not an object", what);
                goto fail;
            }
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = as_error_set(AS_EINVAL, "%s: __metadata__ values must be strings", what);
                    goto fail;
                }
            }
            continue;
        }
        if ((rc = parse_entry(&out->t[out->n], key, v, buf + 8 + hlen, data_len, what)) < 0)
            goto fail;
        out->n++;
    }
    /* No two tensors may share bytes. */
    if ((by_off = malloc((n ? n : 1) * sizeof *by_off)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < out->n; i++)
        by_off[i] = &out->t[i];
    qsort(by_off, out->n, sizeof *by_off, cmp_offset);
    for (i = 1; i < out->n; i++) {
        const uint8_t *prev_end = (const uint8_t *)by_off[i - 1]->data + by_off[i - 1]->nbytes;

        if (by_off[i - 1]->nbytes > 0 && by_off[i]->nbytes > 0 &&
            (const uint8_t *)by_off[i]->data < prev_end) {
            rc = as_error_set(AS_EINVAL, "%s: tensors '%s' and '%s' overlap", what,
                              by_off[i - 1]->name, by_off[i]->name);
            goto fail;
        }
    }
    free(by_off);
    qsort(out->t, out->n, sizeof *out->t, cmp_name);
    json_decref(root);
    return 0;
fail:
    free(by_off);
    json_decref(root);
    eng_st_table_clear(out);
    return rc;
}

/* --- model folders --- */

typedef struct shard {
    char *path;
    void *map;
    size_t size;
} shard;

struct eng_weights {
    shard *shards;
    size_t nshards;
    eng_tensor *t;           /* all tensors, sorted by name; names owned here */
    size_t n;
    uint64_t bytes;
};

void eng_weights_free(eng_weights *w)
{
    size_t i;

    if (w == NULL)
        return;
    for (i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    for (i = 0; i < w->nshards; i++) {
        if (w->shards[i].map != NULL)
            munmap(w->shards[i].map, w->shards[i].size);
        free(w->shards[i].path);
    }
    free(w->shards);
    free(w);
}

static int map_file(shard *s)
{
    struct stat st;
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return as_error_set(AS_ENOTFOUND, "%s: cannot open", s->path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return as_error_set(AS_EINVAL, "%s: not a regular file", s->path);
    }
    if (st.st_size < 8) {
        close(fd);
        return as_error_set(AS_EINVAL, "%s: %lld bytes: too short for a safetensors file", s->path,
                            (long long)st.st_size);
    }
    s->size = (size_t)st.st_size;
    s->map = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        return as_error_set(AS_ERROR, "%s: cannot map into memory", s->path);
    }
    return 0;
}

/* Map shard 'idx' and append its tensors to w->t. */
static int add_shard(eng_weights *w, size_t idx)
{
    eng_st_table tab;
    eng_tensor *grown;
    size_t i;
    int rc;

    if ((rc = map_file(&w->shards[idx])) < 0)
        return rc;
    if ((rc = eng_st_parse(&tab, w->shards[idx].map, w->shards[idx].size, w->shards[idx].path)) < 0)
        return rc;
    if ((grown = realloc(w->t, (w->n + tab.n + 1) * sizeof *grown)) == NULL) {
        eng_st_table_clear(&tab);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    w->t = grown;
    for (i = 0; i < tab.n; i++) {
        tab.t[i].shard = (int)idx;
        w->bytes += tab.t[i].nbytes;
        w->t[w->n++] = tab.t[i];    /* the name now belongs to w */
    }
    free(tab.t);
    return 0;
}

static int add_shard_path(eng_weights *w, const char *dir, const char *file)
{
    shard *grown;

    if ((grown = realloc(w->shards, (w->nshards + 1) * sizeof *grown)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    w->shards = grown;
    memset(&w->shards[w->nshards], 0, sizeof *grown);
    if ((w->shards[w->nshards].path = as_path_join(dir, file)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    w->nshards++;
    return 0;
}

/* Read the index: the list of shard files into w->shards, and the map. */
static int read_index(eng_weights *w, const char *dir, const char *index_path, json_t **map_out)
{
    char *text = NULL;
    size_t len, i;
    json_t *root = NULL, *map;
    const char *key;
    json_t *v;
    int rc;

    if ((rc = as_file_read(&text, &len, index_path, INDEX_MAX)) < 0)
        return rc;
    rc = as_json_parse(&root, text, len, index_path);
    free(text);
    if (rc < 0)
        return rc;
    map = json_object_get(root, "weight_map");
    if (!json_is_object(map) || json_object_size(map) == 0) {
        json_decref(root);
        return as_error_set(AS_EINVAL, "%s: no weight_map object", index_path);
    }
    json_object_foreach(map, key, v) {
        const char *f = json_string_value(v);

        if (f == NULL || f[0] == '\0' || strchr(f, '/') != NULL || strcmp(f, "..") == 0) {
            rc = as_error_set(AS_EINVAL, "%s: tensor '%s': shard must be a file name in the folder",
                              index_path, key);
            json_decref(root);
            return rc;
        }
        for (i = 0; i < w->nshards; i++)
            if (strcmp(strrchr(w->shards[i].path, '/') + 1, f) == 0)
                break;
        if (i < w->nshards)
            continue;
        if (w->nshards >= ENG_ST_MAX_SHARDS) {
            json_decref(root);
            return as_error_set(AS_ETOOBIG, "%s: more than %d shards", index_path, ENG_ST_MAX_SHARDS);
        }
        if ((rc = add_shard_path(w, dir, f)) < 0) {
            json_decref(root);
            return rc;
        }
    }
    *map_out = json_incref(map);
    json_decref(root);
    return 0;
}

int eng_weights_open(eng_weights **out, const char *dir)
{
    eng_weights *w;
    char *index_path = NULL, *single = NULL;
    json_t *map = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    index_path = as_path_join(dir, "model.safetensors.index.json");
    single = as_path_join(dir, "model.safetensors");
    if (index_path == NULL || single == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    if (as_path_exists(single))
        rc = add_shard_path(w, dir, "model.safetensors");
    else if (as_path_exists(index_path))
        rc = read_index(w, dir, index_path, &map);
    else
        rc = as_error_set(AS_ENOTFOUND, "%s: no model.safetensors or model.safetensors.index.json", dir);
    if (rc < 0)
        goto fail;
    for (i = 0; i < w->nshards; i++)
        if ((rc = add_shard(w, i)) < 0)
            goto fail;
    qsort(w->t, w->n, sizeof *w->t, cmp_name);
    for (i = 1; i < w->n; i++)
        if (strcmp(w->t[i - 1].name, w->t[i].name) == 0) {
            rc = as_error_set(AS_EINVAL, "%s: tensor '%s' is in two shards", dir, w->t[i].name);
            goto fail;
        }
    if (map != NULL) {
        const char *key;
        json_t *v;

        if (json_object_size(map) != w->n) {
            rc = as_error_set(AS_EINVAL, "%s: the index lists %zu tensors, the shards hold %zu",
                              index_path, json_object_size(map), w->n);
            goto fail;
        }
        json_object_foreach(map, key, v) {
            const eng_tensor *t = eng_weights_get(w, key);

            if (t == NULL || strcmp(strrchr(w->shards[t->shard].path, '/') + 1,
                                    json_string_value(v)) != 0) {
                rc = as_error_set(AS_EINVAL, "%s: tensor '%s' is not in %s", index_path, key,
                                  json_string_value(v));
                goto fail;
            }
        }
    }
    json_decref(map);
    free(index_path);
    free(single);
    *out = w;
    return 0;
fail:
    json_decref(map);
    free(index_path);
    free(single);
    eng_weights_free(w);
    return rc;
}

const eng_tensor *eng_weights_get(const eng_weights *w, const char *name)
{
    eng_tensor key;

    key.name = (char *)name;
    return bsearch(&key, w->t, w->n, sizeof *w->t, cmp_name);
}

const eng_tensor *eng_weights_all(const eng_weights *w, size_t *n)
{
    *n = w->n;
    return w->t;
}

uint64_t eng_weights_bytes(const eng_weights *w)
{
    return w->bytes;
}
