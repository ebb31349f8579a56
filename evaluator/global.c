/* The evaluator's process-wide start-up: the one place that calls
 * curl_global_init (STYLE.md, Servers: once in main, before any thread). */
#include "evaluator/eval.h"
#include "common/error.h"

#include <curl/curl.h>

/* Written only by eval_global_init/shutdown, which run on the main thread
 * while no other thread exists; read afterwards by any thread. */
static int curl_ready;

int eval_global_init(void)
{
    CURLcode cc;

    if (curl_ready)
        return 0;
    if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
        return as_error_set(AS_ERROR, "libcurl: cannot start: %s", curl_easy_strerror(cc));
    curl_ready = 1;
    return 0;
}

void eval_global_shutdown(void)
{
    if (!curl_ready)
        return;
    curl_global_cleanup();
    curl_ready = 0;
}

int eval_global_check(void)
{
    if (!curl_ready)
        return as_error_set(AS_EINVAL, "libcurl was not started (eval_global_init not called)");
    return 0;
}
