/* Test helpers shared by the provider unit tests (test_anthropic.c,
 * test_bedrock.c, test_sagemaker.c): drive a provider through the provider
 * interface without a network. */
#ifndef AS_TEST_PROVTEST_H
#define AS_TEST_PROVTEST_H

#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "evaluator/provider.h"

/* A started provider 'kind' named 'name' with the settings in
 * 'settings_json', or NULL when creating or starting it fails. Caller frees
 * with prov_destroy. */
static inline prov *pt_make(const char *kind, const char *name, const char *settings_json)
{
    json_t *settings;
    prov *p = NULL;

    if (as_json_parse(&settings, settings_json, strlen(settings_json), "settings") < 0)
        return NULL;
    if (prov_create(&p, kind, name, settings) < 0)
        p = NULL;
    json_decref(settings);
    if (p && p->vt->start(p, NULL) < 0) {
        prov_destroy(p);
        p = NULL;
    }
    return p;
}

/* The value of the first header of 'r' that starts with 'prefix' (matched
 * without regard to case, e.g. "authorization: "), borrowed from 'r'; NULL
 * when there is none. */
static inline const char *pt_header(const prov_request *r, const char *prefix)
{
    size_t i, n = strlen(prefix);

    for (i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->headers[i], prefix, n) == 0)
            return r->headers[i] + n;
    return NULL;
}

/* Hand a complete response (status, raw 'headers' and 'body', either may
 * be NULL for none) to the provider's parse_response; *res is initialised
 * first and the caller frees it with prov_result_clear. */
static inline int pt_parse(prov *p, prov_call *c, void *st, long status, const char *headers,
                           const char *body, prov_result *res)
{
    prov_response r;

    memset(&r, 0, sizeof(r));
    r.status = status;
    r.headers = headers ? headers : "";
    r.body = body ? body : "";
    r.body_len = body ? strlen(body) : 0;
    r.stream_complete = 1;
    prov_result_init(res);
    return p->vt->parse_response(p, c, st, &r, res);
}

#endif
