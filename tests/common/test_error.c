/* common/error: set, wrap, names. */
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

int main(void)
{
    T_RUN(error__set_and_wrap);
    return t_done();
}
