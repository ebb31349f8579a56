/* Fuzz target: the template parser and renderer on arbitrary bytes. */
#include "catalog/catalog.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cat_tpl *t = NULL;
    json_t *names, *vars, *v;
    char *out = NULL;
    size_t i;

    if (cat_tpl_parse(&t, (const char *)data, size, "fuzz") < 0)
        return 0;
    names = cat_tpl_vars(t);
    vars = json_object();
    json_array_foreach(names, i, v)
    {
        json_object_set_new(vars, json_string_value(v), json_string("x"));
    }
    if (cat_tpl_render(&out, t, vars) < 0)
        abort(); /* every used variable is present: rendering must succeed */
    free(out);
    json_decref(vars);
    json_decref(names);
    cat_tpl_free(t);
    return 0;
}
