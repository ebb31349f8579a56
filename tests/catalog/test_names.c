/* Name, label and reference syntax. */
#include "catalog/catalog.h"
#include "tests/test.h"

static void names__valid_and_invalid(void)
{
    char longest[CAT_NAME_MAX + 2];

    T_CHECK(cat_name_valid("summarize"));
    T_CHECK(cat_name_valid("team/qa-v2.1_x"));
    T_CHECK(cat_name_valid("0"));
    memset(longest, 'a', CAT_NAME_MAX);
    longest[CAT_NAME_MAX] = '\0';
    T_CHECK(cat_name_valid(longest));
    longest[CAT_NAME_MAX] = 'a';
    longest[CAT_NAME_MAX + 1] = '\0';
    T_CHECK(!cat_name_valid(longest));
    T_CHECK(!cat_name_valid(""));
    T_CHECK(!cat_name_valid("Upper"));
    T_CHECK(!cat_name_valid("-dash"));
    T_CHECK(!cat_name_valid(".dot"));
    T_CHECK(!cat_name_valid("a/../b"));
    T_CHECK(!cat_name_valid("a..b"));
    T_CHECK(!cat_name_valid("a//b"));
    T_CHECK(!cat_name_valid("a/"));
    T_CHECK(!cat_name_valid("a/.hidden"));
    T_CHECK(!cat_name_valid("x.lock"));
    T_CHECK(!cat_name_valid("a b"));
    T_CHECK(!cat_name_valid("a@b"));
    T_CHECK(!cat_name_valid("caf\xc3\xa9"));
    T_CHECK(strstr(as_error_msg(), "invalid name") != NULL);
}

static void labels__valid_and_invalid(void)
{
    T_CHECK(cat_label_valid("production"));
    T_CHECK(cat_label_valid("stage_2.b-x"));
    T_CHECK(cat_label_valid("abcdefghijabcdefghijabcdefghijabcdef")); /* 36 */
    T_CHECK(!cat_label_valid("abcdefghijabcdefghijabcdefghijabcdefg"));
    T_CHECK(!cat_label_valid(""));
    T_CHECK(!cat_label_valid("Prod"));
    T_CHECK(!cat_label_valid("a/b"));
    T_CHECK(!cat_label_valid("v3"));
    T_CHECK(!cat_label_valid("a..b"));
    T_CHECK(!cat_label_valid("a."));
    T_CHECK(!cat_label_valid("x.lock"));
    T_CHECK(strstr(as_error_msg(), "invalid label") != NULL);
}

static void refs__forms(void)
{
    cat_ref r;

    T_OK(cat_ref_parse(&r, "summarize"));
    T_EQ_STR(r.name, "summarize");
    T_EQ_INT(r.form, CAT_REF_LATEST);
    T_OK(cat_ref_parse(&r, "a/b@v12"));
    T_EQ_STR(r.name, "a/b");
    T_EQ_INT(r.form, CAT_REF_VERSION);
    T_EQ_INT(r.version, 12);
    T_OK(cat_ref_parse(&r, "x@production"));
    T_EQ_INT(r.form, CAT_REF_LABEL);
    T_EQ_STR(r.label, "production");
    T_OK(cat_ref_parse(&r, "x@1a2b3c4"));
    T_EQ_INT(r.form, CAT_REF_COMMIT);
    T_EQ_STR(r.label, "1a2b3c4");
    T_OK(cat_ref_parse(&r, "x@0123456789abcdef0123456789abcdef01234567"));
    T_EQ_INT(r.form, CAT_REF_COMMIT);
    T_EQ_STR(r.label, "0123456789abcdef0123456789abcdef01234567");
    T_OK(cat_ref_parse(&r, "x@abc")); /* three hex digits: a label */
    T_EQ_INT(r.form, CAT_REF_LABEL);
}

static void refs__invalid(void)
{
    cat_ref r;

    T_ERR(cat_ref_parse(&r, ""), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "@v1"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "x@"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "x@v0"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "x@v99999999999"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "x@Bad"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "x@a@b"), AS_EINVAL);
    T_ERR(cat_ref_parse(&r, "../x@v1"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "../x@v1") != NULL);
}

int main(void)
{
    T_RUN(names__valid_and_invalid);
    T_RUN(labels__valid_and_invalid);
    T_RUN(refs__forms);
    T_RUN(refs__invalid);
    return t_done();
}
