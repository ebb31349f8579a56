/* Datasets (datasets/NAME.jsonl): one case a line. Parsing of one line,
 * streamed validation of a whole file (one line in memory at a time, ids
 * checked unique), and streamed reading of a version's cases out of git. */
#include "catalog/internal.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CASE_ID_MAX 256
#define CHUNK 65536

void cat_case_clear(cat_case *cs)
{
    if (cs == NULL)
        return;
    free(cs->id);
    free(cs->expected);
    json_decref(cs->vars);
    json_decref(cs->tags);
    memset(cs, 0, sizeof(*cs));
}

static int case_fields(cat_case *cs, json_t *doc, long lineno)
{
    const char *key;
    json_t *v;
    size_t i;

    if (!json_is_object(doc))
        return as_error_set(AS_EINVAL, "line %ld: a case is a JSON object", lineno);
    json_object_foreach(doc, key, v)
    {
        if (strcmp(key, "id") && strcmp(key, "vars") && strcmp(key, "expected") &&
            strcmp(key, "tags") && strcmp(key, "meta"))
            return as_error_set(AS_EINVAL, "line %ld: unknown field '%.40s'", lineno, key);
    }
    v = json_object_get(doc, "id");
    if (json_is_string(v)) {
        if (json_string_length(v) == 0 || json_string_length(v) > CASE_ID_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return as_error_set(AS_EINVAL, "line %ld: field 'id': 1 to %d characters", lineno,
                                CASE_ID_MAX);
        cs->id = strdup(json_string_value(v));
    } else if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        cs->id = strdup(tmp);
    } else {
        return as_error_set(AS_EINVAL, "line %ld: field 'id': %s", lineno,
                            v ? "must be a string or an integer" : "missing");
    }
    if (cs->id == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    v = json_object_get(doc, "vars");
    if (v == NULL) {
        cs->vars = json_object();
    } else if (!json_is_object(v)) {
        return as_error_set(AS_EINVAL, "line %ld: field 'vars': must be an object", lineno);
    } else {
        cs->vars = json_incref(v);
    }
    v = json_object_get(doc, "expected");
    if (json_is_string(v)) {
        if ((cs->expected = strndup(json_string_value(v), json_string_length(v))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
    } else if (v != NULL && !json_is_null(v)) {
        return as_error_set(AS_EINVAL, "line %ld: field 'expected': must be a string", lineno);
    }
    v = json_object_get(doc, "tags");
    if (v == NULL) {
        cs->tags = json_array();
    } else if (!json_is_array(v)) {
        return as_error_set(AS_EINVAL, "line %ld: field 'tags': must be an array of strings",
                            lineno);
    } else {
        json_t *t;
        json_array_foreach(v, i, t)
        {
            if (!json_is_string(t))
                return as_error_set(AS_EINVAL, "line %ld: field 'tags': item %zu is not a string",
                                    lineno, i + 1);
        }
        cs->tags = json_incref(v);
    }
    v = json_object_get(doc, "meta");
    if (v != NULL && !json_is_object(v))
        return as_error_set(AS_EINVAL, "line %ld: field 'meta': must be an object", lineno);
    if (cs->vars == NULL || cs->tags == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

int cat_case_parse(cat_case *out, const char *line, size_t len, long lineno)
{
    json_error_t err;
    json_t *doc;
    size_t bad;
    int rc;

    memset(out, 0, sizeof(*out));
    out->line = lineno;
    if (len > CAT_LINE_MAX)
        return as_error_set(AS_ETOOBIG, "line %ld: longer than the limit of %zu bytes", lineno,
                            (size_t)CAT_LINE_MAX);
    if (!as_utf8_valid(line, len, &bad))
        return as_error_set(AS_EINVAL, "line %ld: invalid UTF-8 at byte %zu", lineno, bad + 1);
    doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL)
        return as_error_set(AS_EINVAL, "line %ld column %d: %s", lineno, err.column, err.text);
    rc = case_fields(out, doc, lineno);
    json_decref(doc);
    if (rc < 0)
        cat_case_clear(out);
    out->line = lineno;
    return rc;
}

static int blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int64_t cat__count_cases(const char *data, size_t len)
{
    int64_t n = 0;
    size_t start = 0, i;

    for (i = 0; i <= len; i++) {
        if (i == len || data[i] == '\n') {
            if (!blank(data + start, i - start))
                n++;
            start = i + 1;
        }
    }
    return n;
}

/* ---- A set of case ids (open addressing) ------------------------------- */

typedef struct id_set {
    char **slots;
    size_t cap, n;
} id_set;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void id_set_free(id_set *s)
{
    size_t i;

    for (i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* Insert 'id': 1 inserted, 0 already present, < 0 error. */
static int id_set_add(id_set *s, const char *id)
{
    size_t i;

    if (s->n * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024, j;
        char **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        for (j = 0; j < s->cap; j++) {
            if (s->slots[j] == NULL)
                continue;
            for (i = hash_str(s->slots[j]) & (cap - 1); slots[i]; i = (i + 1) & (cap - 1))
                ;
            slots[i] = s->slots[j];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    for (i = hash_str(id) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slots[i], id) == 0)
            return 0;
    if ((s->slots[i] = strdup(id)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->n++;
    return 1;
}

/* ---- Line splitting over chunks ---------------------------------------- */

/* Feeds bytes in and calls 'fn' for each complete line (without '\n'). */
typedef struct line_reader {
    as_buf line;
    long lineno;
    int (*fn)(void *arg, const char *line, size_t len, long lineno);
    void *arg;
} line_reader;

static void lr_init(line_reader *lr, int (*fn)(void *, const char *, size_t, long), void *arg)
{
    memset(lr, 0, sizeof(*lr));
    /* One byte over the limit so a too-long line is reported as such. */
    as_buf_init(&lr->line, CAT_LINE_MAX + 1);
    lr->fn = fn;
    lr->arg = arg;
}

static int lr_emit(line_reader *lr, const char *s, size_t n)
{
    lr->lineno++;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (blank(s, n))
        return 0;
    return lr->fn(lr->arg, s, n, lr->lineno);
}

static int lr_feed(line_reader *lr, const char *data, size_t len)
{
    size_t start = 0, i;
    int rc;

    for (i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        if (lr->line.len > 0) {
            if (as_buf_append(&lr->line, data + start, i - start) < 0)
                return as_error_set(AS_ETOOBIG, "line %ld: longer than the limit of %zu bytes",
                                    lr->lineno + 1, (size_t)CAT_LINE_MAX);
            rc = lr_emit(lr, lr->line.data, lr->line.len);
            as_buf_reset(&lr->line);
        } else {
            if (i - start > CAT_LINE_MAX)
                return as_error_set(AS_ETOOBIG, "line %ld: longer than the limit of %zu bytes",
                                    lr->lineno + 1, (size_t)CAT_LINE_MAX);
            rc = lr_emit(lr, data + start, i - start);
        }
        if (rc < 0)
            return rc;
        start = i + 1;
    }
    if (start < len && as_buf_append(&lr->line, data + start, len - start) < 0)
        return as_error_set(AS_ETOOBIG, "line %ld: longer than the limit of %zu bytes",
                            lr->lineno + 1, (size_t)CAT_LINE_MAX);
    return 0;
}

static int lr_finish(line_reader *lr)
{
    int rc = 0;

    if (lr->line.len > 0)
        rc = lr_emit(lr, lr->line.data, lr->line.len);
    as_buf_reset(&lr->line);
    return rc;
}

static void lr_free(line_reader *lr)
{
    as_buf_free(&lr->line);
}

/* ---- Validation of a file ---------------------------------------------- */

typedef struct validate_ctx {
    id_set ids;
    int64_t count;
} validate_ctx;

static int validate_line(void *arg, const char *line, size_t len, long lineno)
{
    validate_ctx *v = arg;
    cat_case cs;
    int rc;

    if ((rc = cat_case_parse(&cs, line, len, lineno)) < 0)
        return rc;
    rc = id_set_add(&v->ids, cs.id);
    if (rc == 0)
        rc = as_error_set(AS_EINVAL, "line %ld: field 'id': '%.60s' is used by an earlier line",
                          lineno, cs.id);
    cat_case_clear(&cs);
    if (rc < 0)
        return rc;
    v->count++;
    return 0;
}

/* Read 'fp' in chunks, validating every line and passing every chunk to
 * 'sink' (may be NULL) too. */
static int scan_file(FILE *fp, const char *path, int64_t *count,
                     int (*sink)(void *arg, const char *data, size_t len), void *sink_arg)
{
    validate_ctx v = {0};
    line_reader lr;
    size_t total = 0, n;
    char *chunk;
    int rc = 0;

    if ((chunk = malloc(CHUNK)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    lr_init(&lr, validate_line, &v);
    while ((n = fread(chunk, 1, CHUNK, fp)) > 0) {
        total += n;
        if (total > CAT_DATASET_MAX) {
            rc = as_error_set(AS_ETOOBIG, "larger than the limit of %zu bytes",
                              (size_t)CAT_DATASET_MAX);
            break;
        }
        if ((rc = lr_feed(&lr, chunk, n)) < 0)
            break;
        if (sink && (rc = sink(sink_arg, chunk, n)) < 0)
            break;
    }
    if (rc == 0 && ferror(fp))
        rc = as_error_set(AS_ERROR, "read error");
    if (rc == 0)
        rc = lr_finish(&lr);
    lr_free(&lr);
    free(chunk);
    id_set_free(&v.ids);
    if (rc < 0)
        return as_error_wrap(rc, "%s", path);
    if (count)
        *count = v.count;
    return 0;
}

static int open_file(FILE **fp, const char *path)
{
    if ((*fp = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT)
            return as_error_set(AS_ENOTFOUND, "%s: no such file", path);
        return as_error_set(AS_ERROR, "%s: %s", path, strerror(errno));
    }
    return 0;
}

int cat_dataset_validate_file(const char *path, int64_t *count)
{
    FILE *fp;
    int rc;

    if ((rc = open_file(&fp, path)) < 0)
        return rc;
    rc = scan_file(fp, path, count, NULL, NULL);
    fclose(fp);
    return rc;
}

/* ---- Reading a version's cases ------------------------------------------ */

struct cat_cases {
    char what[CAT_NAME_MAX + 32]; /* "dataset NAME@vN", for errors */
    git_odb_stream *stream;       /* loose objects: read piece by piece */
    git_blob *blob;               /* packed objects: inflated once by libgit2 */
    size_t blob_off;
    line_reader lr;
    cat_case current;
    int have_current;
    int eof;
    char *chunk;
    /* Lines parsed from the last chunk, waiting to be handed out. */
    cat_case *queue;
    size_t qn, qcap, qpos;
};

static int queue_line(void *arg, const char *line, size_t len, long lineno)
{
    cat_cases *it = arg;
    int rc;

    if (it->qn == it->qcap) {
        size_t cap = it->qcap ? it->qcap * 2 : 64;
        cat_case *q = realloc(it->queue, cap * sizeof(*q));
        if (q == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        it->queue = q;
        it->qcap = cap;
    }
    if ((rc = cat_case_parse(&it->queue[it->qn], line, len, lineno)) < 0)
        return rc;
    it->qn++;
    return 0;
}

int cat_cases_open(cat_cases **out, cat *c, const cat_version *v)
{
    cat_cases *it;
    git_odb *odb = NULL;
    git_oid oid;
    size_t len;
    git_object_t type;
    int rc;

    *out = NULL;
    if (v->kind != CAT_DATASET)
        return as_error_set(AS_EINVAL, "%s '%s' is not a dataset", cat_kind_name(v->kind), v->name);
    if (git_oid_fromstr(&oid, v->blob) < 0)
        return as_error_set(AS_ECORRUPT, "dataset %s@v%d: bad blob id", v->name, v->version);
    if ((it = calloc(1, sizeof(*it))) == NULL || (it->chunk = malloc(CHUNK)) == NULL) {
        free(it);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    lr_init(&it->lr, queue_line, it);
    snprintf(it->what, sizeof(it->what), "dataset %s@v%d", v->name, v->version);
    if ((rc = git_repository_odb(&odb, c->repo)) < 0) {
        rc = cat__git_fail(rc, "opening the object database");
        goto fail;
    }
    if (git_odb_open_rstream(&it->stream, &len, &type, odb, &oid) < 0) {
        it->stream = NULL;
        if ((rc = git_blob_lookup(&it->blob, c->repo, &oid)) < 0) {
            rc = cat__git_fail(rc, v->name);
            goto fail;
        }
    }
    git_odb_free(odb);
    *out = it;
    return 0;
fail:
    git_odb_free(odb);
    cat_cases_close(it);
    return rc;
}

/* Read the next piece of the blob into the line reader. */
static int cases_fill(cat_cases *it)
{
    int n;

    if (it->stream) {
        n = it->stream->read(it->stream, it->chunk, CHUNK);
        if (n < 0)
            return cat__git_fail(n, "reading a dataset");
        if (n == 0) {
            it->eof = 1;
            return lr_finish(&it->lr);
        }
        return lr_feed(&it->lr, it->chunk, (size_t)n);
    } else {
        const char *raw = git_blob_rawcontent(it->blob);
        size_t size = (size_t)git_blob_rawsize(it->blob), take = size - it->blob_off;
        if (take == 0) {
            it->eof = 1;
            return lr_finish(&it->lr);
        }
        if (take > CHUNK)
            take = CHUNK;
        n = lr_feed(&it->lr, raw + it->blob_off, take);
        it->blob_off += take;
        return n;
    }
}

int cat_cases_next(cat_cases *it, const cat_case **out)
{
    int rc;

    *out = NULL;
    if (it->have_current) {
        cat_case_clear(&it->current);
        it->have_current = 0;
    }
    while (it->qpos == it->qn) {
        it->qpos = it->qn = 0;
        if (it->eof)
            return 0;
        if ((rc = cases_fill(it)) < 0)
            return as_error_wrap(rc, "%s", it->what);
    }
    it->current = it->queue[it->qpos++];
    it->have_current = 1;
    *out = &it->current;
    return 1;
}

void cat_cases_close(cat_cases *it)
{
    if (it == NULL)
        return;
    if (it->have_current)
        cat_case_clear(&it->current);
    while (it->qpos < it->qn)
        cat_case_clear(&it->queue[it->qpos++]);
    free(it->queue);
    if (it->stream)
        git_odb_stream_free(it->stream);
    git_blob_free(it->blob);
    lr_free(&it->lr);
    free(it->chunk);
    free(it);
}

/* ---- Writing a dataset ---------------------------------------------------- */

static int odb_sink(void *arg, const char *data, size_t len)
{
    git_odb_stream *ws = arg;
    int rc = git_odb_stream_write(ws, data, len);

    return rc < 0 ? cat__git_fail(rc, "writing the dataset blob") : 0;
}

/* Validate 'path' and write it as a blob in one pass; on any bad line the
 * half-written object is discarded and nothing reaches the repository. */
static int write_dataset_blob(git_oid *out, int64_t *count, cat *c, const char *path)
{
    git_odb *odb = NULL;
    git_odb_stream *ws = NULL;
    struct stat st;
    FILE *fp;
    off_t size;
    int rc;

    if ((rc = open_file(&fp, path)) < 0)
        return rc;
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return as_error_set(AS_EINVAL, "%s: not a regular file", path);
    }
    size = st.st_size;
    if ((uint64_t)size > CAT_DATASET_MAX) {
        fclose(fp);
        return as_error_set(AS_ETOOBIG, "%s: larger than the limit of %zu bytes", path,
                            (size_t)CAT_DATASET_MAX);
    }
    if ((rc = git_repository_odb(&odb, c->repo)) < 0 ||
        (rc = git_odb_open_wstream(&ws, odb, (git_object_size_t)size, GIT_OBJECT_BLOB)) < 0) {
        rc = cat__git_fail(rc, "opening the object database");
        goto out;
    }
    if ((rc = scan_file(fp, path, count, odb_sink, ws)) < 0)
        goto out;
    if (*count == 0) {
        rc = as_error_set(AS_EINVAL, "%s: a dataset needs at least one case", path);
        goto out;
    }
    if ((rc = git_odb_stream_finalize_write(out, ws)) < 0)
        rc = as_error_set(AS_EINVAL, "%s: changed while it was read", path);
out:
    git_odb_stream_free(ws);
    git_odb_free(odb);
    fclose(fp);
    return rc;
}

int cat_put_dataset_file(cat_version *out, cat *c, const char *name, const char *path,
                         const cat_commit_opts *opts)
{
    char fpath[CAT_NAME_MAX + 16], defmsg[CAT_NAME_MAX + 40];
    git_oid blob, commit;
    cat_version cur;
    int64_t count = 0;
    int rc, exists;

    if (!cat_name_valid(name))
        return AS_EINVAL;
    if ((rc = cat__item_path(fpath, sizeof(fpath), CAT_DATASET, name)) < 0)
        return rc;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = write_dataset_blob(&blob, &count, c, path)) < 0)
        goto out;
    exists = cat_resolve(&cur, c, CAT_DATASET, name) == 0;
    as_error_clear();
    snprintf(defmsg, sizeof(defmsg), "dataset %s: %s", name, exists ? "update" : "add");
    rc = cat__commit_path(c, &commit, fpath, &blob, opts, defmsg);
    if (rc == 0 || rc == AS_EEXISTS) {
        int rc2 = cat_resolve(out, c, CAT_DATASET, name);
        if (rc2 < 0)
            rc = rc2;
    }
out:
    cat__unlock(c);
    return rc;
}

/* Collect the ids of the newest version of 'name' into 'ids' (none when the
 * dataset does not exist or was removed); *ver set when it exists. */
static int existing_ids(id_set *ids, int *exists, cat_version *ver, cat *c, const char *name)
{
    cat_cases *it = NULL;
    const cat_case *cs;
    int rc;

    *exists = 0;
    if ((rc = cat_resolve(ver, c, CAT_DATASET, name)) == AS_ENOTFOUND) {
        as_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    *exists = 1;
    if ((rc = cat_cases_open(&it, c, ver)) < 0)
        return rc;
    while ((rc = cat_cases_next(it, &cs)) == 1)
        if ((rc = id_set_add(ids, cs->id)) < 0)
            break;
    cat_cases_close(it);
    return rc;
}

/* Copy the bytes of blob 'hex' into 'ws' piece by piece; *last receives
 * the final byte ('\n' when the blob is empty). */
static int copy_blob(cat *c, const char *hex, git_writestream *ws, char *last)
{
    git_odb *odb = NULL;
    git_odb_stream *rs = NULL;
    git_blob *blob = NULL;
    git_object_t type;
    git_oid oid;
    size_t len;
    char *buf = NULL;
    int n, rc = 0;

    *last = '\n';
    if (git_oid_fromstr(&oid, hex) < 0)
        return as_error_set(AS_ECORRUPT, "index: bad blob id '%.40s'", hex);
    if ((rc = git_repository_odb(&odb, c->repo)) < 0)
        return cat__git_fail(rc, "opening the object database");
    if (git_odb_open_rstream(&rs, &len, &type, odb, &oid) == 0) {
        if ((buf = malloc(CHUNK)) == NULL)
            rc = as_error_set(AS_ENOMEM, "out of memory");
        while (rc == 0 && (n = rs->read(rs, buf, CHUNK)) != 0) {
            if (n < 0 || ws->write(ws, buf, (size_t)n) < 0)
                rc = cat__git_fail(n < 0 ? n : -1, "copying the dataset");
            else
                *last = buf[n - 1];
        }
        git_odb_stream_free(rs);
    } else if ((rc = git_blob_lookup(&blob, c->repo, &oid)) < 0) {
        rc = cat__git_fail(rc, "reading the dataset");
    } else {
        const char *raw = git_blob_rawcontent(blob);
        size_t size = (size_t)git_blob_rawsize(blob);
        if (size > 0 && ws->write(ws, raw, size) < 0)
            rc = cat__git_fail(-1, "copying the dataset");
        else if (size > 0)
            *last = raw[size - 1];
    }
    free(buf);
    git_blob_free(blob);
    git_odb_free(odb);
    return rc;
}

/* Check the new cases against each other and 'ids', and render them as
 * JSONL into 'lines'. */
static int append_lines(as_buf *lines, id_set *ids, const json_t *cases)
{
    json_t *v;
    size_t i;
    int rc;

    json_array_foreach(cases, i, v)
    {
        long lineno = (long)i + 1;
        char *line = as_json_dump(v);
        cat_case cs;
        if (line == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        rc = cat_case_parse(&cs, line, strlen(line), lineno);
        if (rc == 0) {
            rc = id_set_add(ids, cs.id);
            if (rc == 0)
                rc = as_error_set(AS_EINVAL,
                                  "case %ld: field 'id': '%.60s' is already in the dataset", lineno,
                                  cs.id);
            cat_case_clear(&cs);
        }
        if (rc >= 0 && (rc = as_buf_puts(lines, line)) >= 0)
            rc = as_buf_putc(lines, '\n');
        free(line);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cat_dataset_append(cat_version *out, cat *c, const char *name, const json_t *cases,
                       const cat_commit_opts *opts)
{
    char fpath[CAT_NAME_MAX + 16], defmsg[CAT_NAME_MAX + 40], last = '\n';
    git_writestream *ws = NULL;
    id_set ids = {0};
    cat_version ver;
    as_buf lines;
    git_oid blob, commit;
    int exists = 0, rc;

    if (!cat_name_valid(name))
        return AS_EINVAL;
    if (!json_is_array(cases) || json_array_size(cases) == 0)
        return as_error_set(AS_EINVAL, "cases must be a non-empty JSON array");
    if ((rc = cat__item_path(fpath, sizeof(fpath), CAT_DATASET, name)) < 0)
        return rc;
    as_buf_init(&lines, CAT_DATASET_MAX);
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = existing_ids(&ids, &exists, &ver, c, name)) < 0)
        goto out;
    if ((rc = append_lines(&lines, &ids, cases)) < 0) {
        rc = as_error_wrap(rc, "appending to dataset '%s'", name);
        goto out;
    }
    /* The old file streams into the new blob, then the new lines. */
    if ((rc = git_blob_create_from_stream(&ws, c->repo, NULL)) < 0) {
        rc = cat__git_fail(rc, "writing the dataset blob");
        goto out;
    }
    if (exists && (rc = copy_blob(c, ver.blob, ws, &last)) < 0)
        goto out;
    if ((last != '\n' && ws->write(ws, "\n", 1) < 0) || ws->write(ws, lines.data, lines.len) < 0) {
        rc = cat__git_fail(-1, "writing the dataset blob");
        goto out;
    }
    rc = git_blob_create_from_stream_commit(&blob, ws);
    ws = NULL; /* freed by the commit */
    if (rc < 0) {
        rc = cat__git_fail(rc, "writing the dataset blob");
        goto out;
    }
    snprintf(defmsg, sizeof(defmsg), "dataset %s: %s", name, exists ? "append cases" : "add");
    rc = cat__commit_path(c, &commit, fpath, &blob, opts, defmsg);
    if (rc == 0)
        rc = cat_resolve(out, c, CAT_DATASET, name);
out:
    if (ws)
        ws->free(ws);
    cat__unlock(c);
    id_set_free(&ids);
    as_buf_free(&lines);
    return rc;
}
