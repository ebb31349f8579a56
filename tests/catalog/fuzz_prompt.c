/* Fuzz target: the prompt parser, and rendering of what it accepts. */
#include "catalog/catalog.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cat_prompt *p = NULL;
    json_t *vars, *v, *out = NULL;
    size_t i;

    if (cat_prompt_parse(&p, (const char *)data, size, "fuzz") < 0)
        return 0;
    vars = json_object();
    json_array_foreach(p->variables, i, v)
    {
        json_object_set_new(vars, json_string_value(v), json_integer((json_int_t)i));
    }
    if (cat_prompt_render(&out, p, vars) < 0)
        abort(); /* a valid prompt with all its variables renders */
    json_decref(out);
    json_decref(vars);
    cat_prompt_free(p);
    return 0;
}
