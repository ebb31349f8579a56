/* common/buf: growth, the cap, detach. */
#include "common/buf.h"
#include "tests/test.h"

#include <stdlib.h>

static void buf__appends_and_terminates(void)
{
    as_buf b;

    as_buf_init(&b, 0);
    T_OK(as_buf_puts(&b, "hello"));
    T_OK(as_buf_printf(&b, " %d", 42));
    T_EQ_STR(b.data, "hello 42");
    T_EQ_INT(b.len, 8);
    as_buf_free(&b);
}

static void buf__refuses_past_cap(void)
{
    as_buf b;

    as_buf_init(&b, 4);
    T_OK(as_buf_puts(&b, "abcd"));
    T_ERR(as_buf_putc(&b, 'e'), AS_ETOOBIG);
    T_EQ_STR(b.data, "abcd");
    T_ERR(as_buf_printf(&b, "%s", "x"), AS_ETOOBIG);
    as_buf_free(&b);
}

static void buf__detach_empty_gives_empty_string(void)
{
    as_buf b;
    char *s;

    as_buf_init(&b, 0);
    s = as_buf_detach(&b);
    T_EQ_STR(s, "");
    free(s);
}

static void buf__grows_large(void)
{
    as_buf b;
    int i;

    as_buf_init(&b, 0);
    for (i = 0; i < 100000; i++)
        T_OK(as_buf_putc(&b, (char)('a' + i % 26)));
    T_EQ_INT(b.len, 100000);
    T_CHECK(b.data[99999] == (char)('a' + 99999 % 26));
    as_buf_free(&b);
}

int main(void)
{
    T_RUN(buf__appends_and_terminates);
    T_RUN(buf__refuses_past_cap);
    T_RUN(buf__detach_empty_gives_empty_string);
    T_RUN(buf__grows_large);
    return t_done();
}
