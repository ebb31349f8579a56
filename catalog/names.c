/* Names, labels and references: the syntax every catalog input is checked
 * against before anything is looked up or written, and the mapping of
 * names to repository paths and label refs. */
#include "catalog/internal.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>

const char *cat_kind_name(cat_kind kind)
{
    switch (kind) {
    case CAT_PROMPT:
        return "prompt";
    case CAT_DATASET:
        return "dataset";
    case CAT_SUITE:
        return "suite";
    }
    return "item";
}

const char *cat__kind_dir(cat_kind kind)
{
    switch (kind) {
    case CAT_PROMPT:
        return "prompts";
    case CAT_DATASET:
        return "datasets";
    case CAT_SUITE:
        return "suites";
    }
    return "";
}

const char *cat__kind_ext(cat_kind kind)
{
    return kind == CAT_DATASET ? ".jsonl" : ".json";
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Check the name without setting an error; returns a reason or NULL. */
static const char *name_problem(const char *name)
{
    size_t len, i, seg = 0;

    if (name == NULL || name[0] == '\0')
        return "a name must not be empty";
    len = strlen(name);
    if (len > CAT_NAME_MAX)
        return "a name has at most 128 characters";
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
        return "a name starts with a-z or 0-9";
    for (i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '/' || ch == '-'))
            return "a name has only a-z, 0-9, '.', '_', '/' and '-'";
    }
    if (strstr(name, ".."))
        return "a name has no '..'";
    /* Segment rules keep every name a valid file path and git ref path. */
    for (i = 0; i <= len; i++) {
        if (i == len || name[i] == '/') {
            size_t n = i - seg;
            if (n == 0)
                return "a name has no empty segment (leading, trailing or double '/')";
            if (name[seg] == '.')
                return "a name segment does not start with '.'";
            if (ends_with(name + seg, n, ".lock"))
                return "a name segment does not end with '.lock'";
            seg = i + 1;
        }
    }
    if (name[len - 1] == '.')
        return "a name does not end with '.'";
    return NULL;
}

int cat_name_valid(const char *name)
{
    const char *why = name_problem(name);

    if (why == NULL)
        return 1;
    as_error_set(AS_EINVAL, "invalid name '%.140s': %s", name ? name : "", why);
    return 0;
}

static int is_version_form(const char *s)
{
    size_t i;

    if (s[0] != 'v' || s[1] == '\0')
        return 0;
    for (i = 1; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static const char *label_problem(const char *label)
{
    size_t len, i;

    if (label == NULL || label[0] == '\0')
        return "a label must not be empty";
    len = strlen(label);
    if (len > CAT_LABEL_MAX)
        return "a label has at most 36 characters";
    for (i = 0; i < len; i++) {
        char ch = label[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return "a label has only a-z, 0-9, '.', '_' and '-'";
    }
    if (is_version_form(label))
        return "vN is a version, not a label";
    if (strstr(label, ".."))
        return "a label has no '..'";
    if (label[len - 1] == '.' || ends_with(label, len, ".lock"))
        return "a label does not end with '.' or '.lock'";
    return NULL;
}

int cat_label_valid(const char *label)
{
    const char *why = label_problem(label);

    if (why == NULL)
        return 1;
    as_error_set(AS_EINVAL, "invalid label '%.60s': %s", label ? label : "", why);
    return 0;
}

static int is_hex_prefix(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i >= 4 && i <= 40;
}

int cat_ref_parse(cat_ref *out, const char *ref)
{
    const char *at;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (ref == NULL || ref[0] == '\0')
        return as_error_set(AS_EINVAL, "empty reference");
    if (strlen(ref) > CAT_NAME_MAX + 1 + 40)
        return as_error_set(AS_EINVAL, "reference '%.60s...': too long", ref);
    at = strchr(ref, '@');
    n = at ? (size_t)(at - ref) : strlen(ref);
    if (n > CAT_NAME_MAX)
        return as_error_set(AS_EINVAL, "reference '%.60s...': name too long", ref);
    memcpy(out->name, ref, n);
    out->name[n] = '\0';
    if (!cat_name_valid(out->name))
        return as_error_wrap(AS_EINVAL, "reference '%s'", ref);
    if (at == NULL) {
        out->form = CAT_REF_LATEST;
        return 0;
    }
    at++;
    if (is_version_form(at)) {
        long v = 0;
        size_t i;
        for (i = 1; at[i]; i++) {
            v = v * 10 + (at[i] - '0');
            if (v > 1000000000L)
                return as_error_set(AS_EINVAL, "reference '%s': version too large", ref);
        }
        if (v < 1)
            return as_error_set(AS_EINVAL, "reference '%s': versions start at v1", ref);
        out->form = CAT_REF_VERSION;
        out->version = (int)v;
        return 0;
    }
    if (is_hex_prefix(at)) {
        out->form = CAT_REF_COMMIT;
        snprintf(out->label, sizeof(out->label), "%s", at);
        return 0;
    }
    if (!cat_label_valid(at))
        return as_error_wrap(AS_EINVAL, "reference '%s'", ref);
    out->form = CAT_REF_LABEL;
    snprintf(out->label, sizeof(out->label), "%s", at);
    return 0;
}

int cat__item_path(char *out, size_t size, cat_kind kind, const char *name)
{
    int n = snprintf(out, size, "%s/%s%s", cat__kind_dir(kind), name, cat__kind_ext(kind));

    if (n < 0 || (size_t)n >= size)
        return as_error_set(AS_EINVAL, "name '%.60s': too long", name);
    return 0;
}

int cat__path_item(const char *path, cat_kind *kind, char *name, size_t name_size)
{
    static const cat_kind kinds[] = {CAT_PROMPT, CAT_DATASET, CAT_SUITE};
    size_t i;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *dir = cat__kind_dir(kinds[i]), *ext = cat__kind_ext(kinds[i]);
        size_t dl = strlen(dir), el = strlen(ext), pl = strlen(path), nl;
        if (pl <= dl + 1 + el || strncmp(path, dir, dl) != 0 || path[dl] != '/')
            continue;
        if (!ends_with(path, pl, ext))
            continue;
        nl = pl - dl - 1 - el;
        if (nl >= name_size)
            return 0;
        memcpy(name, path + dl + 1, nl);
        name[nl] = '\0';
        if (name_problem(name) != NULL)
            return 0;
        *kind = kinds[i];
        return 1;
    }
    return 0;
}

int cat__label_refname(char *out, size_t size, cat_kind kind, const char *name, const char *label)
{
    int n = snprintf(out, size, "refs/labels/%s/%s@%s", cat__kind_dir(kind), name, label);

    if (n < 0 || (size_t)n >= size)
        return as_error_set(AS_EINVAL, "label ref for '%.60s': too long", name);
    return 0;
}

int cat__label_parse_ref(const char *ref, cat_kind *kind, char *name, size_t name_size, char *label,
                         size_t label_size)
{
    static const cat_kind kinds[] = {CAT_PROMPT, CAT_DATASET, CAT_SUITE};
    const char *prefix = "refs/labels/", *rest, *at;
    size_t i, pl = strlen(prefix);

    if (strncmp(ref, prefix, pl) != 0)
        return 0;
    ref += pl;
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *dir = cat__kind_dir(kinds[i]);
        size_t dl = strlen(dir);
        if (strncmp(ref, dir, dl) != 0 || ref[dl] != '/')
            continue;
        rest = ref + dl + 1;
        if ((at = strrchr(rest, '@')) == NULL || (size_t)(at - rest) >= name_size ||
            strlen(at + 1) >= label_size)
            return 0;
        memcpy(name, rest, (size_t)(at - rest));
        name[at - rest] = '\0';
        memcpy(label, at + 1, strlen(at + 1) + 1);
        if (name_problem(name) || label_problem(label))
            return 0;
        *kind = kinds[i];
        return 1;
    }
    return 0;
}
