/* common/json: parse errors with positions, typed getters, exact reals. */
#include "common/json.h"
#include "tests/test.h"

#include <stdlib.h>

static void json__parse_error_names_line_and_column(void)
{
    json_t *v = NULL;
    const char *text = "{\n  \"a\": 1,\n  \"b\": }";

    T_ERR(as_json_parse(&v, text, strlen(text), "prompt.json"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "prompt.json: line 3 column") != NULL);
}

static void json__rejects_duplicate_keys(void)
{
    json_t *v = NULL;
    const char *text = "{\"a\": 1, \"a\": 2}";

    T_ERR(as_json_parse(&v, text, strlen(text), "x"), AS_EINVAL);
}

static void json__getters_check_types(void)
{
    json_t *v = NULL;
    const char *text = "{\"s\": \"x\", \"n\": 1.5, \"i\": 3, \"b\": true, \"a\": []}";
    const char *s;
    double n;
    int64_t i;
    int b;
    json_t *a;

    T_OK(as_json_parse(&v, text, strlen(text), "x"));
    T_OK(as_json_get_str(v, "s", 1, &s));
    T_EQ_STR(s, "x");
    T_OK(as_json_get_num(v, "n", 1, &n));
    T_NEAR(n, 1.5, 0);
    T_OK(as_json_get_int(v, "i", 1, &i));
    T_EQ_INT(i, 3);
    T_OK(as_json_get_bool(v, "b", 1, &b));
    T_EQ_INT(b, 1);
    T_OK(as_json_get_array(v, "a", 1, &a));
    T_ERR(as_json_get_str(v, "n", 1, &s), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'n'") != NULL);
    T_ERR(as_json_get_str(v, "missing", 0, &s), AS_ENOTFOUND);
    T_ERR(as_json_get_str(v, "missing", 1, &s), AS_EINVAL);
    json_decref(v);
}

static void json__reals_round_trip(void)
{
    json_t *o = json_object(), *back = NULL;
    double x = 0.1 + 0.2, y;
    char *s;

    T_OK(as_json_set_num(o, "x", x));
    s = as_json_dump(o);
    T_OK(as_json_parse(&back, s, strlen(s), "dump"));
    T_OK(as_json_get_num(back, "x", 1, &y));
    T_CHECK(x == y);
    free(s);
    json_decref(o);
    json_decref(back);
}

int main(void)
{
    T_RUN(json__parse_error_names_line_and_column);
    T_RUN(json__rejects_duplicate_keys);
    T_RUN(json__getters_check_types);
    T_RUN(json__reals_round_trip);
    return t_done();
}
