/* Clocks; see clock.h. */
#include "common/clock.h"

#include <stdio.h>
#include <time.h>

uint64_t as_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double as_clock_ms(void)
{
    return (double)as_clock_ns() / 1e6;
}

void as_time_iso8601(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

int64_t as_time_unix(void)
{
    return (int64_t)time(NULL);
}
