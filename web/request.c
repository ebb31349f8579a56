/* Request helpers shared by the handlers: query parameters, paging, the
 * JSON body. */
#include "web/http.h"

#include "common/error.h"

#include <civetweb.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int web_query_str(const web_req *r, const char *name, char *buf, size_t size)
{
    if (r->query == NULL || size > 0x7fffffff)
        return 0;
    return mg_get_var(r->query, strlen(r->query), name, buf, size) >= 0;
}

int web_query_int(const web_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                  int64_t *out)
{
    char buf[32], *end;
    long long v;

    *out = def;
    if (!web_query_str(r, name, buf, sizeof buf))
        return 0;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (buf[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return as_error_set(AS_EINVAL, "query parameter '%s': expected an integer from %lld to %lld",
                            name, (long long)min, (long long)max);
    *out = v;
    return 0;
}

int web_query_page(const web_req *r, int64_t *offset, int64_t *limit)
{
    int rc;

    if ((rc = web_query_int(r, "offset", 0, 0, INT32_MAX, offset)) < 0)
        return rc;
    return web_query_int(r, "limit", 50, 1, 1000, limit);
}

int web_body_object(web_req *r, json_t **obj)
{
    if (r->json == NULL || !json_is_object(r->json))
        return as_error_set(AS_EINVAL, "request body: expected a JSON object");
    *obj = r->json;
    return 0;
}

int web_parse_id(const char *what, const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (s[0] == '\0' || *end != '\0' || v <= 0)
        return as_error_set(AS_EINVAL, "%s '%s': expected a positive integer", what, s);
    *out = v;
    return 0;
}
