/* Per-thread error message storage for the AS_E* convention. */
#include "common/error.h"
#include "common/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AS_ERROR_MSG_MAX 1024

static _Thread_local char error_msg[AS_ERROR_MSG_MAX];

/* Messages quote what users sent, are printed as one line and are written
 * into JSON, which must be UTF-8; a character cut by the length limit shows
 * as '?'. */
static void make_valid(void)
{
    as_utf8_one_line(error_msg, sizeof(error_msg));
}

int as_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
    va_end(ap);
    make_valid();
    return code;
}

int as_error_wrap(int code, const char *fmt, ...)
{
    char old[AS_ERROR_MSG_MAX];
    size_t n;
    va_list ap;

    memcpy(old, error_msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
    va_end(ap);
    n = strlen(error_msg);
    if (n + 2 < sizeof(error_msg)) {
        memcpy(error_msg + n, ": ", 2);
        n += 2;
        memcpy(error_msg + n, old, sizeof(error_msg) - n - 1);
        error_msg[sizeof(error_msg) - 1] = '\0';
    }
    make_valid();
    return code;
}

const char *as_error_msg(void)
{
    return error_msg;
}

void as_error_clear(void)
{
    error_msg[0] = '\0';
}

const char *as_error_name(int code)
{
    switch (code) {
    case AS_OK: return "ok";
    case AS_ENOTFOUND: return "not_found";
    case AS_EEXISTS: return "exists";
    case AS_EINVAL: return "invalid";
    case AS_ETOOBIG: return "too_big";
    case AS_ETIMEOUT: return "timeout";
    case AS_EBUSY: return "busy";
    case AS_EUPSTREAM: return "upstream";
    case AS_EGPU: return "gpu";
    case AS_ENOMEM: return "no_memory";
    case AS_ECONFLICT: return "conflict";
    case AS_EAUTH: return "unauthorized";
    case AS_EFORBIDDEN: return "forbidden";
    case AS_EUNSUPPORTED: return "unsupported";
    case AS_ECANCELED: return "canceled";
    case AS_ECORRUPT: return "corrupt";
    default: return "error";
    }
}
