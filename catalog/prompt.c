/* Prompt documents (prompts/NAME.json): schema validation, the variables
 * their templates use, and rendering with a JSON object of variables. */
#include "catalog/catalog.h"
#include "common/error.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prompt_fields[] = {"name",     "description", "task",   "messages",
                                            "template", "params",      "labels", "variables",
                                            "tags",     NULL};
static const char *const prompt_tasks[] = {"classification", "summarization", "qa", "generation",
                                           NULL};
static const char *const prompt_roles[] = {"system", "user", "assistant", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

void cat_prompt_free(cat_prompt *p)
{
    if (p == NULL)
        return;
    json_decref(p->messages);
    json_decref(p->params);
    json_decref(p->labels);
    json_decref(p->variables);
    json_decref(p->tags);
    json_decref(p->doc);
    free(p);
}

/* 'key' must be absent or an array of distinct non-empty strings; the
 * result (a new reference) is that array or an empty one. */
static int string_array(json_t **out, const json_t *doc, const char *key, const char *what)
{
    json_t *arr = json_object_get(doc, key), *v;
    size_t i, j;

    if (arr == NULL) {
        *out = json_array();
        return *out ? 0 : as_error_set(AS_ENOMEM, "out of memory");
    }
    if (!json_is_array(arr))
        return as_error_set(AS_EINVAL, "%s: field '%s' must be an array of strings", what, key);
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return as_error_set(AS_EINVAL, "%s: field '%s' item %zu must be a non-empty string",
                                what, key, i + 1);
        for (j = 0; j < i; j++)
            if (json_equal(v, json_array_get(arr, j)))
                return as_error_set(AS_EINVAL, "%s: field '%s' lists '%s' twice", what, key,
                                    json_string_value(v));
    }
    *out = json_incref(arr);
    return 0;
}

/* Parse one template string and add the variables it uses to 'used'. */
static int collect_vars(json_t *used, const json_t *str, const char *what, const char *field)
{
    char ctx[160];
    cat_tpl *t = NULL;
    json_t *vars, *v;
    size_t i, j;
    int rc;

    snprintf(ctx, sizeof(ctx), "%s: %s", what, field);
    if ((rc = cat_tpl_parse(&t, json_string_value(str), json_string_length(str), ctx)) < 0)
        return rc;
    if ((vars = cat_tpl_vars(t)) == NULL) {
        cat_tpl_free(t);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    json_array_foreach(vars, i, v)
    {
        int seen = 0;
        for (j = 0; j < json_array_size(used); j++)
            if (json_equal(v, json_array_get(used, j)))
                seen = 1;
        if (!seen)
            json_array_append(used, v);
    }
    json_decref(vars);
    cat_tpl_free(t);
    return 0;
}

static int check_messages(const json_t *msgs, json_t *used, const char *what)
{
    json_t *m, *role, *content;
    const char *key;
    json_t *val;
    size_t i;
    int rc;

    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return as_error_set(AS_EINVAL, "%s: field 'messages' must be a non-empty array", what);
    json_array_foreach(msgs, i, m)
    {
        char field[64];
        if (!json_is_object(m))
            return as_error_set(AS_EINVAL, "%s: messages[%zu] must be an object", what, i);
        json_object_foreach(m, key, val)
        {
            if (strcmp(key, "role") != 0 && strcmp(key, "content") != 0)
                return as_error_set(AS_EINVAL, "%s: messages[%zu]: unknown field '%.40s'", what, i,
                                    key);
        }
        role = json_object_get(m, "role");
        content = json_object_get(m, "content");
        if (!json_is_string(role) || !in_list(json_string_value(role), prompt_roles))
            return as_error_set(
                AS_EINVAL, "%s: messages[%zu].role must be system, user or assistant", what, i);
        if (!json_is_string(content))
            return as_error_set(AS_EINVAL, "%s: messages[%zu].content must be a string", what, i);
        snprintf(field, sizeof(field), "messages[%zu].content", i);
        if ((rc = collect_vars(used, content, what, field)) < 0)
            return rc;
    }
    return 0;
}

/* Set equality of two arrays of distinct strings. */
static int same_set(const json_t *a, const json_t *b, const char **missing, const char **extra)
{
    size_t i, j;

    *missing = *extra = NULL;
    for (i = 0; i < json_array_size(a); i++) {
        int found = 0;
        for (j = 0; j < json_array_size(b); j++)
            if (json_equal(json_array_get(a, i), json_array_get(b, j)))
                found = 1;
        if (!found) {
            *extra = json_string_value(json_array_get(a, i));
            return 0;
        }
    }
    for (j = 0; j < json_array_size(b); j++) {
        int found = 0;
        for (i = 0; i < json_array_size(a); i++)
            if (json_equal(json_array_get(a, i), json_array_get(b, j)))
                found = 1;
        if (!found) {
            *missing = json_string_value(json_array_get(b, j));
            return 0;
        }
    }
    return 1;
}

static int prompt_check(cat_prompt *p, const char *what)
{
    json_t *doc = p->doc, *v, *declared = NULL, *tpl;
    const char *key, *missing, *extra;
    int rc;

    if (!json_is_object(doc))
        return as_error_set(AS_EINVAL, "%s: a prompt is a JSON object", what);
    json_object_foreach(doc, key, v)
    {
        if (!in_list(key, prompt_fields))
            return as_error_set(AS_EINVAL, "%s: unknown field '%.40s'", what, key);
    }
    p->name = NULL;
    if ((v = json_object_get(doc, "name")) != NULL) {
        if (!json_is_string(v))
            return as_error_set(AS_EINVAL, "%s: field 'name' must be a string", what);
        if (!cat_name_valid(json_string_value(v)))
            return as_error_wrap(AS_EINVAL, "%s: field 'name'", what);
        p->name = json_string_value(v);
    }
    p->description = "";
    if ((v = json_object_get(doc, "description")) != NULL) {
        if (!json_is_string(v))
            return as_error_set(AS_EINVAL, "%s: field 'description' must be a string", what);
        p->description = json_string_value(v);
    }
    p->task = "generation";
    if ((v = json_object_get(doc, "task")) != NULL) {
        if (!json_is_string(v) || !in_list(json_string_value(v), prompt_tasks))
            return as_error_set(AS_EINVAL,
                                "%s: field 'task' must be classification, summarization, qa or "
                                "generation",
                                what);
        p->task = json_string_value(v);
    }
    if ((p->variables = json_array()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    v = json_object_get(doc, "messages");
    tpl = json_object_get(doc, "template");
    if ((v == NULL) == (tpl == NULL))
        return as_error_set(AS_EINVAL, "%s: a prompt has either 'messages' or 'template'", what);
    if (v) {
        if ((rc = check_messages(v, p->variables, what)) < 0)
            return rc;
        p->messages = json_incref(v);
    } else {
        if (!json_is_string(tpl))
            return as_error_set(AS_EINVAL, "%s: field 'template' must be a string", what);
        if ((rc = collect_vars(p->variables, tpl, what, "template")) < 0)
            return rc;
        p->template_text = json_string_value(tpl);
    }
    if ((v = json_object_get(doc, "params")) != NULL) {
        if (!json_is_object(v))
            return as_error_set(AS_EINVAL, "%s: field 'params' must be an object", what);
        p->params = json_incref(v);
    } else if ((p->params = json_object()) == NULL) {
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if ((rc = string_array(&p->labels, doc, "labels", what)) < 0 ||
        (rc = string_array(&p->tags, doc, "tags", what)) < 0)
        return rc;
    if (strcmp(p->task, "classification") == 0 && json_array_size(p->labels) < 2)
        return as_error_set(AS_EINVAL,
                            "%s: a classification prompt lists its classes in 'labels' (at "
                            "least two)",
                            what);
    if (json_object_get(doc, "variables") != NULL) {
        if ((rc = string_array(&declared, doc, "variables", what)) < 0)
            return rc;
        rc = same_set(declared, p->variables, &missing, &extra);
        json_decref(declared);
        if (!rc && extra)
            return as_error_set(AS_EINVAL,
                                "%s: field 'variables' declares '%s' but no template uses it", what,
                                extra);
        if (!rc && missing)
            return as_error_set(
                AS_EINVAL, "%s: a template uses '%s' but field 'variables' does not declare it",
                what, missing);
    }
    return 0;
}

int cat_prompt_parse(cat_prompt **out, const char *data, size_t len, const char *what)
{
    cat_prompt *p;
    int rc;

    *out = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = as_json_parse_doc(&p->doc, data, len, CAT_DOC_MAX, what)) < 0 ||
        (rc = prompt_check(p, what)) < 0) {
        cat_prompt_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int render_one(char **out, const json_t *str, const json_t *vars, const char *field)
{
    cat_tpl *t = NULL;
    int rc;

    if ((rc = cat_tpl_parse(&t, json_string_value(str), json_string_length(str), field)) < 0)
        return rc;
    rc = cat_tpl_render(out, t, vars);
    cat_tpl_free(t);
    if (rc < 0)
        return as_error_wrap(rc, "%s", field);
    return 0;
}

int cat_prompt_render(json_t **out, const cat_prompt *p, const json_t *vars)
{
    json_t *arr, *m;
    char *text = NULL;
    size_t i;
    int rc;

    *out = NULL;
    if (!json_is_object(vars))
        return as_error_set(AS_EINVAL, "variables must be a JSON object");
    if (p->template_text) {
        if ((rc = render_one(&text, json_object_get(p->doc, "template"), vars, "template")) < 0)
            return rc;
        *out = json_stringn(text, strlen(text));
        free(text);
        return *out ? 0 : as_error_set(AS_EINVAL, "rendered template is not valid UTF-8");
    }
    if ((arr = json_array()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    json_array_foreach(p->messages, i, m)
    {
        char field[48];
        json_t *msg;
        snprintf(field, sizeof(field), "messages[%zu]", i);
        if ((rc = render_one(&text, json_object_get(m, "content"), vars, field)) < 0) {
            json_decref(arr);
            return rc;
        }
        msg = json_pack("{s:O,s:s}", "role", json_object_get(m, "role"), "content", text);
        free(text);
        if (msg == NULL || json_array_append_new(arr, msg) < 0) {
            json_decref(arr);
            return as_error_set(AS_EINVAL, "rendered message is not valid UTF-8");
        }
    }
    *out = arr;
    return 0;
}
