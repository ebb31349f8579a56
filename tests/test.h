/* A minimal unit-test harness: each test file is one executable whose main
 * runs its cases with T_RUN and returns t_done(). A failed check prints the
 * file, line and expression and marks the case failed; the case goes on. */
#ifndef AS_TEST_H
#define AS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

static int t_failed_checks, t_cases, t_failed_cases;

#define T_CHECK(cond)                                                              \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

/* 'expr' must return >= 0; prints the error message otherwise. */
#define T_OK(expr)                                                                 \
    do {                                                                           \
        int t_rc_ = (expr);                                                        \
        if (t_rc_ < 0) {                                                           \
            fprintf(stderr, "  %s:%d: %s returned %d: %s\n", __FILE__, __LINE__,   \
                    #expr, t_rc_, as_error_msg());                                 \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

/* 'expr' must return exactly 'code'. */
#define T_ERR(expr, code)                                                          \
    do {                                                                           \
        int t_rc_ = (expr);                                                        \
        if (t_rc_ != (code)) {                                                     \
            fprintf(stderr, "  %s:%d: %s returned %d, expected %d (%s)\n", __FILE__, \
                    __LINE__, #expr, t_rc_, (int)(code), as_error_msg());          \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

#define T_EQ_INT(a, b)                                                             \
    do {                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                    \
        if (t_a_ != t_b_) {                                                        \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__,      \
                    __LINE__, #a, t_a_, t_b_);                                     \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

#define T_EQ_STR(a, b)                                                             \
    do {                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                       \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {             \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,  \
                    __LINE__, #a, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

/* |a - b| <= tol (absolute). */
#define T_NEAR(a, b, tol)                                                          \
    do {                                                                           \
        double t_a_ = (a), t_b_ = (b);                                             \
        if (!(fabs(t_a_ - t_b_) <= (tol)) && !(isnan(t_a_) && isnan(t_b_))) {      \
            fprintf(stderr, "  %s:%d: %s == %.17g, expected %.17g (tol %g)\n",     \
                    __FILE__, __LINE__, #a, t_a_, t_b_, (double)(tol));            \
            t_failed_checks++;                                                     \
        }                                                                          \
    } while (0)

#define T_RUN(fn)                                                                  \
    do {                                                                           \
        int t_before_ = t_failed_checks;                                           \
        as_error_clear();                                                          \
        fn();                                                                      \
        t_cases++;                                                                 \
        if (t_failed_checks != t_before_) {                                        \
            t_failed_cases++;                                                      \
            printf("FAIL %s\n", #fn);                                              \
        } else {                                                                   \
            printf("ok   %s\n", #fn);                                              \
        }                                                                          \
    } while (0)

static inline int t_done(void)
{
    printf("%d passed, %d failed\n", t_cases - t_failed_cases, t_failed_cases);
    return t_failed_cases ? 1 : 0;
}

#endif
