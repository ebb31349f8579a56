/* Templates: "{{name}}" variables in literal text, parsed once into
 * segments and rendered against a JSON object of variables. The syntax and
 * its escapes are described in catalog.h. */
#include "catalog/catalog.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

#define TPL_VAR_MAX 64

typedef struct tpl_seg {
    int is_var;
    char *text; /* literal bytes or the variable name (NUL-terminated) */
    size_t len;
} tpl_seg;

struct cat_tpl {
    tpl_seg *segs;
    size_t n, cap;
};

void cat_tpl_free(cat_tpl *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++)
        free(t->segs[i].text);
    free(t->segs);
    free(t);
}

static int add_seg(cat_tpl *t, int is_var, const char *text, size_t len)
{
    tpl_seg *s;

    /* Adjacent literals merge so rendering is one append per piece. */
    if (!is_var && t->n > 0 && !t->segs[t->n - 1].is_var) {
        s = &t->segs[t->n - 1];
        char *p = realloc(s->text, s->len + len + 1);
        if (p == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        memcpy(p + s->len, text, len);
        s->len += len;
        p[s->len] = '\0';
        s->text = p;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tpl_seg *segs = realloc(t->segs, cap * sizeof(*segs));
        if (segs == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        t->segs = segs;
        t->cap = cap;
    }
    s = &t->segs[t->n];
    if ((s->text = malloc(len + 1)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
    s->is_var = is_var;
    t->n++;
    return 0;
}

/* Line and column (1-based, columns in bytes) of offset 'pos'. */
static void position(const char *src, size_t pos, int *line, int *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < pos; i++) {
        if (src[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int syntax_error(const char *what, const char *src, size_t pos, const char *why)
{
    int line, col;

    position(src, pos, &line, &col);
    return as_error_set(AS_EINVAL, "%s: line %d column %d: %s", what, line, col, why);
}

static int valid_var(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > TPL_VAR_MAX)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return 0;
    for (i = 1; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

int cat_tpl_parse(cat_tpl **out, const char *src, size_t len, const char *what)
{
    cat_tpl *t;
    size_t i = 0, lit = 0;
    int rc = 0;

    *out = NULL;
    if (len > CAT_TEMPLATE_MAX)
        return as_error_set(AS_ETOOBIG, "%s: template larger than %zu bytes", what,
                            (size_t)CAT_TEMPLATE_MAX);
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    while (i < len) {
        if (src[i] == '\\' && i + 2 < len && src[i + 1] == '{' && src[i + 2] == '{') {
            /* "\{{" is a literal "{{". */
            if ((rc = add_seg(t, 0, src + lit, i - lit)) < 0 || (rc = add_seg(t, 0, "{{", 2)) < 0)
                goto fail;
            i += 3;
            lit = i;
            continue;
        }
        if (src[i] == '{' && i + 1 < len && src[i + 1] == '{') {
            size_t run = 0, open, close, a, b;
            while (i + run < len && src[i + run] == '{')
                run++;
            /* Braces beyond the last two of a run are literal text. */
            open = i + run - 2;
            if ((rc = add_seg(t, 0, src + lit, open - lit)) < 0)
                goto fail;
            for (close = open + 2; close + 1 < len; close++)
                if (src[close] == '}' && src[close + 1] == '}')
                    break;
            if (close + 1 >= len) {
                rc = syntax_error(what, src, open,
                                  "'{{' is not closed by '}}' (write \\{{ for literal braces)");
                goto fail;
            }
            a = open + 2;
            b = close;
            while (a < b && (src[a] == ' ' || src[a] == '\t'))
                a++;
            while (b > a && (src[b - 1] == ' ' || src[b - 1] == '\t'))
                b--;
            if (!valid_var(src + a, b - a)) {
                rc = syntax_error(
                    what, src, open,
                    "invalid variable name in '{{...}}' (a name is a letter or '_' "
                    "then letters, digits, '_', '.', '-'; write \\{{ for literal braces)");
                goto fail;
            }
            if ((rc = add_seg(t, 1, src + a, b - a)) < 0)
                goto fail;
            i = close + 2;
            lit = i;
            continue;
        }
        i++;
    }
    if ((rc = add_seg(t, 0, src + lit, len - lit)) < 0)
        goto fail;
    *out = t;
    return 0;
fail:
    cat_tpl_free(t);
    return rc;
}

json_t *cat_tpl_vars(const cat_tpl *t)
{
    json_t *arr = json_array();
    size_t i, j;

    if (arr == NULL)
        return NULL;
    for (i = 0; i < t->n; i++) {
        int seen = 0;
        if (!t->segs[i].is_var)
            continue;
        for (j = 0; j < json_array_size(arr); j++)
            if (strcmp(json_string_value(json_array_get(arr, j)), t->segs[i].text) == 0)
                seen = 1;
        if (!seen && json_array_append_new(arr, json_string(t->segs[i].text)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int append_value(as_buf *b, const json_t *v)
{
    char *s;
    int rc;

    if (json_is_string(v))
        return as_buf_append(b, json_string_value(v), json_string_length(v));
    if ((s = as_json_dump(v)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = as_buf_puts(b, s);
    free(s);
    return rc;
}

int cat_tpl_render(char **out, const cat_tpl *t, const json_t *vars)
{
    as_buf b;
    size_t i;
    int rc;

    *out = NULL;
    as_buf_init(&b, 0);
    for (i = 0; i < t->n; i++) {
        const tpl_seg *s = &t->segs[i];
        if (!s->is_var) {
            rc = as_buf_append(&b, s->text, s->len);
        } else {
            const json_t *v = json_is_object(vars) ? json_object_get(vars, s->text) : NULL;
            if (v == NULL || json_is_null(v)) {
                as_buf_free(&b);
                return as_error_set(AS_EINVAL, "variable '%s' is missing", s->text);
            }
            rc = append_value(&b, v);
        }
        if (rc < 0) {
            as_buf_free(&b);
            return as_error_wrap(rc, "rendering template");
        }
    }
    *out = as_buf_detach(&b);
    return 0;
}
