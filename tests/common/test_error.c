/* common/error: set, wrap, names. */
#include <string.h>

#include "tests/test.h"

static void error__set_and_wrap(void)
{
    T_EQ_INT(as_error_set(AS_EINVAL, "field '%s' is missing", "id"), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "field 'id' is missing");
    T_EQ_INT(as_error_wrap(AS_EINVAL, "line %d", 3), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "line 3: field 'id' is missing");
    T_EQ_STR(as_error_name(AS_ENOTFOUND), "not_found");
    T_EQ_STR(as_error_name(-999), "error");
}

/* Messages quote user input and go into JSON: they are always UTF-8. */
static void error__messages_are_utf8(void)
{
    char longer[1100];
    size_t n;

    as_error_set(AS_EINVAL, "name '%s' is bad", "caf\xC3\xA9 \xFF\xC3(");
    T_EQ_STR(as_error_msg(), "name 'caf\xC3\xA9 ?" "?(' is bad");
    /* a character cut by the length limit */
    memset(longer, 'a', 1021);
    memcpy(longer + 1021, "\xE2\x82\xAC", 4);
    as_error_set(AS_EINVAL, "%s", longer);
    n = strlen(as_error_msg());
    T_EQ_INT(n, 1023);
    T_EQ_STR(as_error_msg() + 1021, "??");
    as_error_set(AS_EINVAL, "\xF0\x9F\x98\x80");
    as_error_wrap(AS_EINVAL, "in \xC0\xAF");
    T_EQ_STR(as_error_msg(), "in ??: \xF0\x9F\x98\x80");
}

/* Messages are printed as one line: quoted line breaks and control
 * characters do not start another. */
static void error__messages_are_one_line(void)
{
    as_error_set(AS_EINVAL, "name '%s' is bad", "a\nb\r\tc\x01\x7f");
    T_EQ_STR(as_error_msg(), "name 'a b  c?" "?' is bad");
    as_error_set(AS_EUPSTREAM, "git said: %s", "fatal: no\n");
    T_EQ_STR(as_error_msg(), "git said: fatal: no");
    as_error_wrap(AS_EUPSTREAM, "push\n");
    T_EQ_STR(as_error_msg(), "push : git said: fatal: no");
}

int main(void)
{
    T_RUN(error__set_and_wrap);
    T_RUN(error__messages_are_utf8);
    T_RUN(error__messages_are_one_line);
    return t_done();
}
