/* The provider registry: one table of every provider assay knows, by name.
 * A new provider adds its vtable's declaration and one line to the table. */
#include "evaluator/provider.h"
#include "common/error.h"

#include <stddef.h>
#include <string.h>

extern const prov_vtable prov_openai;
extern const prov_vtable prov_baseline;
extern const prov_vtable prov_replay;
extern const prov_vtable prov_sagemaker;
extern const prov_vtable prov_bedrock;
extern const prov_vtable prov_anthropic;
extern const prov_vtable prov_local;
extern const prov_vtable prov_ollama;

static const prov_vtable *const registry[] = {
    &prov_openai,
    &prov_baseline,
    &prov_replay,
    &prov_sagemaker,
    &prov_bedrock,
    &prov_anthropic,
    &prov_local,
    &prov_ollama,
    NULL
};

const prov_vtable *const *prov_all(void)
{
    return registry;
}

const prov_vtable *prov_find(const char *name)
{
    size_t i;

    for (i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

int prov_create(prov **out, const char *provider, const char *model_name,
                const json_t *settings)
{
    const prov_vtable *vt = prov_find(provider);
    int rc;

    *out = NULL;
    if (vt == NULL)
        return as_error_set(AS_ENOTFOUND, "unknown provider '%s'", provider);
    if ((rc = vt->create(out, model_name, settings)) < 0)
        return rc;
    (*out)->vt = vt;
    return 0;
}

void prov_destroy(prov *p)
{
    if (p)
        p->vt->destroy(p);
}

int prov_is_direct(const prov *p)
{
    return p->vt->invoke != NULL || p->vt->serve != NULL;
}
