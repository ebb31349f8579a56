/* Template parsing and rendering: variables, spacing, literal braces,
 * escapes, errors with positions, missing variables, value formatting. */
#include "catalog/catalog.h"
#include "tests/test.h"

#include <stdlib.h>

static char *render(const char *src, const char *vars_json)
{
    cat_tpl *t = NULL;
    json_t *vars = json_loads(vars_json, 0, NULL);
    char *out = NULL;

    if (cat_tpl_parse(&t, src, strlen(src), "t") == 0)
        cat_tpl_render(&out, t, vars);
    cat_tpl_free(t);
    json_decref(vars);
    return out;
}

static void check_render(const char *src, const char *vars, const char *want)
{
    char *got = render(src, vars);

    T_EQ_STR(got, want);
    free(got);
}

static void template__plain_variables(void)
{
    check_render("Hello {{name}}!", "{\"name\": \"Ann\"}", "Hello Ann!");
    check_render("{{a}}{{b}}", "{\"a\": \"1\", \"b\": \"2\"}", "12");
    check_render("{{ name }} and {{\tname\t}}", "{\"name\": \"x\"}", "x and x");
    check_render("no variables", "{}", "no variables");
    check_render("", "{}", "");
}

static void template__values_are_formatted(void)
{
    check_render("{{n}} {{f}} {{b}} {{o}}",
                 "{\"n\": 3, \"f\": 0.5, \"b\": true, \"o\": {\"k\": [1]}}",
                 "3 0.5 true {\"k\":[1]}");
}

static void template__literal_braces(void)
{
    check_render("{{{x}}}", "{\"x\": \"v\"}", "{v}");
    check_render("{\"a\": {{x}}}", "{\"x\": \"1\"}", "{\"a\": 1}");
    check_render("\\{{x}}", "{}", "{{x}}");
    check_render("a { b } c }}", "{}", "a { b } c }}");
    check_render("{{{{x}}", "{\"x\": \"v\"}", "{{v");
}

static void template__syntax_errors_name_position(void)
{
    cat_tpl *t = NULL;

    T_ERR(cat_tpl_parse(&t, "ab\ncd {{x", 9, "tpl"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "tpl: line 2 column 4") != NULL);
    T_ERR(cat_tpl_parse(&t, "{{1x}}", 6, "tpl"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "line 1 column 1") != NULL);
    T_ERR(cat_tpl_parse(&t, "{{}}", 4, "tpl"), AS_EINVAL);
    T_ERR(cat_tpl_parse(&t, "{{a b}}", 7, "tpl"), AS_EINVAL);
    T_CHECK(t == NULL);
}

static void template__size_limit(void)
{
    size_t n = CAT_TEMPLATE_MAX + 1;
    char *big = malloc(n);
    cat_tpl *t = NULL;

    memset(big, 'a', n);
    T_ERR(cat_tpl_parse(&t, big, n, "big"), AS_ETOOBIG);
    free(big);
}

static void template__missing_variable_is_an_error(void)
{
    cat_tpl *t = NULL;
    json_t *vars = json_pack("{s:s,s:n}", "a", "1", "nul");
    char *out = NULL;

    T_OK(cat_tpl_parse(&t, "{{a}} {{b}}", 11, "t"));
    T_ERR(cat_tpl_render(&out, t, vars), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'b'") != NULL);
    T_CHECK(out == NULL);
    cat_tpl_free(t);
    T_OK(cat_tpl_parse(&t, "{{nul}}", 7, "t"));
    T_ERR(cat_tpl_render(&out, t, vars), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'nul'") != NULL);
    cat_tpl_free(t);
    json_decref(vars);
}

static void template__vars_in_first_use_order(void)
{
    cat_tpl *t = NULL;
    json_t *v;

    T_OK(cat_tpl_parse(&t, "{{b}} {{a}} {{b}} \\{{c}}", 24, "t"));
    v = cat_tpl_vars(t);
    T_EQ_INT(json_array_size(v), 2);
    T_EQ_STR(json_string_value(json_array_get(v, 0)), "b");
    T_EQ_STR(json_string_value(json_array_get(v, 1)), "a");
    json_decref(v);
    cat_tpl_free(t);
}

int main(void)
{
    T_RUN(template__plain_variables);
    T_RUN(template__values_are_formatted);
    T_RUN(template__literal_braces);
    T_RUN(template__syntax_errors_name_position);
    T_RUN(template__size_limit);
    T_RUN(template__missing_variable_is_an_error);
    T_RUN(template__vars_in_first_use_order);
    return t_done();
}
