/* Logging to stderr with levels. The level is process-wide and set once by
 * the front end (--verbose, --quiet) before threads start. */
#ifndef AS_LOG_H
#define AS_LOG_H

typedef enum {
    AS_LOG_QUIET = 0,   /* nothing but errors the caller prints itself */
    AS_LOG_ERROR = 1,
    AS_LOG_WARN = 2,
    AS_LOG_INFO = 3,
    AS_LOG_DEBUG = 4
} as_log_level;

void as_log_set_level(as_log_level level);
as_log_level as_log_get_level(void);
void as_log(as_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define as_log_error(...) as_log(AS_LOG_ERROR, __VA_ARGS__)
#define as_log_warn(...) as_log(AS_LOG_WARN, __VA_ARGS__)
#define as_log_info(...) as_log(AS_LOG_INFO, __VA_ARGS__)
#define as_log_debug(...) as_log(AS_LOG_DEBUG, __VA_ARGS__)

#endif
