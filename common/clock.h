/* Time: a monotonic clock for durations and UTC timestamps for records. */
#ifndef AS_CLOCK_H
#define AS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic nanoseconds since an arbitrary start. */
uint64_t as_clock_ns(void);
/* Monotonic milliseconds as a double, for latency arithmetic. */
double as_clock_ms(void);
/* The wall clock as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes). */
void as_time_iso8601(char *out, size_t size);
/* Seconds since the Unix epoch. */
int64_t as_time_unix(void);

#endif
