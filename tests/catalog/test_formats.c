/* Prompt, dataset-line and suite parsing and prompt rendering. */
#include "catalog/catalog.h"
#include "tests/test.h"

#include <stdlib.h>

static int parse_prompt(cat_prompt **p, const char *s)
{
    return cat_prompt_parse(p, s, strlen(s), "p.json");
}

static void prompt__chat_renders_every_message(void)
{
    cat_prompt *p = NULL;
    json_t *vars = json_pack("{s:s,s:i}", "text", "news", "n", 3), *out = NULL;

    T_OK(parse_prompt(&p, "{\"name\": \"s\", \"task\": \"summarization\", \"messages\": ["
                          "{\"role\": \"system\", \"content\": \"Use {{n}} words.\"},"
                          "{\"role\": \"user\", \"content\": \"{{text}}\"}],"
                          "\"params\": {\"temperature\": 0}, \"tags\": [\"t\"]}"));
    if (p == NULL)
        return;
    T_EQ_STR(p->task, "summarization");
    T_EQ_INT(json_array_size(p->variables), 2);
    T_OK(cat_prompt_render(&out, p, vars));
    T_EQ_INT(json_array_size(out), 2);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(out, 0), "content")), "Use 3 words.");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(out, 1), "role")), "user");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(out, 1), "content")), "news");
    json_decref(out);
    json_object_del(vars, "n");
    T_ERR(cat_prompt_render(&out, p, vars), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'n'") != NULL);
    json_decref(vars);
    cat_prompt_free(p);
}

static void prompt__template_renders_text(void)
{
    cat_prompt *p = NULL;
    json_t *vars = json_pack("{s:s}", "q", "why?"), *out = NULL;

    T_OK(parse_prompt(&p, "{\"template\": \"Q: {{q}}\\nA:\", \"variables\": [\"q\"]}"));
    if (p == NULL)
        return;
    T_EQ_STR(p->task, "generation");
    T_OK(cat_prompt_render(&out, p, vars));
    T_EQ_STR(json_string_value(out), "Q: why?\nA:");
    json_decref(out);
    json_decref(vars);
    cat_prompt_free(p);
}

static void prompt__schema_errors(void)
{
    static const struct {
        const char *doc, *needle;
    } cases[] = {
        {"{\"template\": \"x\",\n \"oops\": 1", "line 2"},
        {"[]", "JSON object"},
        {"{\"template\": \"x\", \"extra\": 1}", "unknown field 'extra'"},
        {"{}", "either 'messages' or 'template'"},
        {"{\"template\": \"x\", \"messages\": []}", "either"},
        {"{\"messages\": []}", "non-empty"},
        {"{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}", "role"},
        {"{\"template\": \"{{a}}\", \"variables\": [\"a\", \"b\"]}", "declares 'b'"},
        {"{\"template\": \"{{a}} {{c}}\", \"variables\": [\"a\"]}", "'c'"},
        {"{\"template\": \"{{a\"}", "not closed"},
        {"{\"template\": \"x\", \"task\": \"poetry\"}", "task"},
        {"{\"template\": \"x\", \"task\": \"classification\"}", "labels"},
        {"{\"template\": \"x\", \"tags\": [\"a\", \"a\"]}", "twice"},
        {"{\"template\": \"x\", \"name\": \"Bad Name\"}", "invalid name"},
        {"{\"template\": \"x\", \"params\": []}", "params"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cat_prompt *p = NULL;
        int rc = parse_prompt(&p, cases[i].doc);
        T_EQ_INT(rc, AS_EINVAL);
        if (strstr(as_error_msg(), cases[i].needle) == NULL ||
            strstr(as_error_msg(), "p.json") == NULL) {
            fprintf(stderr, "  case %zu: message '%s' lacks '%s'\n", i, as_error_msg(),
                    cases[i].needle);
            T_CHECK(0);
        }
        cat_prompt_free(p);
    }
}

static void prompt__invalid_utf8(void)
{
    cat_prompt *p = NULL;

    T_ERR(parse_prompt(&p, "{\"template\": \"\xc3\x28\"}"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "UTF-8") != NULL);
}

static void case__fields(void)
{
    cat_case cs;
    const char *l1 =
        "{\"id\": \"a1\", \"vars\": {\"x\": 1}, \"expected\": \"yes\", \"tags\": [\"t\"]}";
    const char *l2 = "{\"id\": 7}";

    T_OK(cat_case_parse(&cs, l1, strlen(l1), 1));
    T_EQ_STR(cs.id, "a1");
    T_EQ_STR(cs.expected, "yes");
    T_EQ_INT(json_integer_value(json_object_get(cs.vars, "x")), 1);
    T_EQ_INT(json_array_size(cs.tags), 1);
    cat_case_clear(&cs);
    T_OK(cat_case_parse(&cs, l2, strlen(l2), 2));
    T_EQ_STR(cs.id, "7");
    T_CHECK(cs.expected == NULL);
    T_EQ_INT(json_object_size(cs.vars), 0);
    cat_case_clear(&cs);
}

static void case__errors_name_line_and_field(void)
{
    static const struct {
        const char *line, *needle;
    } cases[] = {
        {"{\"vars\": {}}", "line 9: field 'id'"},
        {"{\"id\": \"\"}", "field 'id'"},
        {"{\"id\": 1, \"vars\": []}", "field 'vars'"},
        {"{\"id\": 1, \"expected\": 5}", "field 'expected'"},
        {"{\"id\": 1, \"tags\": [1]}", "field 'tags'"},
        {"{\"id\": 1, \"what\": 1}", "unknown field 'what'"},
        {"{\"id\": 1,", "line 9 column"},
        {"[1]", "JSON object"},
        {"{\"id\": \"\xff\"}", "UTF-8"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cat_case cs;
        T_EQ_INT(cat_case_parse(&cs, cases[i].line, strlen(cases[i].line), 9), AS_EINVAL);
        if (strstr(as_error_msg(), cases[i].needle) == NULL ||
            strstr(as_error_msg(), "line 9") == NULL) {
            fprintf(stderr, "  case %zu: message '%s' lacks '%s'\n", i, as_error_msg(),
                    cases[i].needle);
            T_CHECK(0);
        }
    }
}

static void suite__structure(void)
{
    const char *ok =
        "{\"prompt\": \"s@production\", \"dataset\": \"d@v2\", \"metrics\": "
        "[\"rougeL\", {\"name\": \"f1\", \"average\": \"macro\"}], \"models\": [\"m\"], "
        "\"judge\": {\"model\": \"j\", \"mode\": \"pairwise\"}, \"thresholds\": "
        "{\"f1\": 0.5}, \"ranking\": {\"policy\": \"priority:cost,quality,speed\"}}";
    static const struct {
        const char *doc, *needle;
    } bad[] = {
        {"{\"dataset\": \"d\", \"metrics\": [\"exact_match\"]}", "'prompt' is missing"},
        {"{\"prompt\": \"Bad\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"]}",
         "field 'prompt'"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": []}", "metrics"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [3]}", "metrics[0]"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], "
         "\"primary_metric\": \"b\"}",
         "primary_metric"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"judge\"]}", "judge"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], \"judge\": "
         "{\"model\": \"j\", \"mode\": \"x\"}}",
         "mode"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], \"thresholds\": "
         "{\"b\": 1}}",
         "thresholds.b"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], \"thresholds\": "
         "{\"exact_match\": \"x\"}}",
         "number"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], \"models\": [1]}",
         "models[0]"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\"], \"zzz\": 1}",
         "unknown field"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [\"exact_match\", \"rougeZ\"]}",
         "metrics[1]: metric 'rougeZ'"},
        {"{\"prompt\": \"p\", \"dataset\": \"d\", \"metrics\": [{\"name\": \"rouge1\", \"stemm\": "
         "true}]}",
         "stemm"},
    };
    cat_suite *s = NULL;
    size_t i;

    T_OK(cat_suite_parse(&s, ok, strlen(ok), "s.json"));
    if (s) {
        T_EQ_STR(s->prompt_ref, "s@production");
        T_EQ_STR(s->primary_metric, "rougeL");
        T_EQ_STR(json_string_value(json_object_get(json_array_get(s->metrics, 0), "name")),
                 "rougeL");
        T_EQ_STR(json_string_value(json_object_get(json_array_get(s->metrics, 1), "average")),
                 "macro");
        cat_suite_free(s);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = NULL;
        T_EQ_INT(cat_suite_parse(&s, bad[i].doc, strlen(bad[i].doc), "s.json"), AS_EINVAL);
        if (strstr(as_error_msg(), bad[i].needle) == NULL) {
            fprintf(stderr, "  case %zu: message '%s' lacks '%s'\n", i, as_error_msg(),
                    bad[i].needle);
            T_CHECK(0);
        }
        T_CHECK(s == NULL);
    }
}

int main(void)
{
    T_RUN(prompt__chat_renders_every_message);
    T_RUN(prompt__template_renders_text);
    T_RUN(prompt__schema_errors);
    T_RUN(prompt__invalid_utf8);
    T_RUN(case__fields);
    T_RUN(case__errors_name_line_and_field);
    T_RUN(suite__structure);
    return t_done();
}
