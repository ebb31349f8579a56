/* stderr logger; see log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

static as_log_level log_level = AS_LOG_WARN;

static const char *const level_names[] = {"", "error", "warning", "info", "debug"};

void as_log_set_level(as_log_level level)
{
    log_level = level;
}

as_log_level as_log_get_level(void)
{
    return log_level;
}

void as_log(as_log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    if (level > log_level || level == AS_LOG_QUIET)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fputs per line so lines from several threads do not interleave. */
    fprintf(stderr, "assay: %s: %s\n", level_names[level], line);
}
