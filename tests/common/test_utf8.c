/* common/utf8: validation edges. */
#include "common/utf8.h"
#include "tests/test.h"

static void utf8__accepts_valid(void)
{
    const char *s = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";

    T_CHECK(as_utf8_valid(s, strlen(s), NULL));
}

static void utf8__rejects_malformed(void)
{
    size_t bad = 99;

    T_CHECK(!as_utf8_valid("ab\xc0\xaf", 4, &bad));    /* overlong */
    T_EQ_INT(bad, 2);
    T_CHECK(!as_utf8_valid("\xed\xa0\x80", 3, &bad));  /* surrogate */
    T_CHECK(!as_utf8_valid("\xf4\x90\x80\x80", 4, &bad));  /* past U+10FFFF */
    T_CHECK(!as_utf8_valid("\xe6\x97", 2, &bad));      /* truncated */
    T_CHECK(!as_utf8_valid("\xff", 1, &bad));
}

static void utf8__encode_decode_round_trip(void)
{
    uint32_t cps[] = {0x24, 0xA2, 0x20AC, 0x10348, 0x10FFFF}, cp;
    char out[4];
    size_t i, n;

    for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        n = as_utf8_encode(cps[i], out);
        T_CHECK(n > 0);
        T_EQ_INT(as_utf8_decode((unsigned char *)out, n, &cp), n);
        T_EQ_INT(cp, cps[i]);
    }
    T_EQ_INT(as_utf8_encode(0xD800, out), 0);
}

/* Quotes of outside text in messages: one line, valid, cut whole. */
static void utf8__one_line(void)
{
    char a[] = "\xff\xfe bad\r\ngateway\t\x01 \xe2\x82";
    char b[] = "ab\xe2\x82\xac\xe2\x82\xac";
    char c[] = "ok  \n";

    T_EQ_INT(as_utf8_one_line(a, 100), strlen("?" "? bad  gateway ? ?" "?"));
    T_EQ_STR(a, "?" "? bad  gateway ? ?" "?");
    T_EQ_INT(as_utf8_one_line(b, 6), 5);       /* the second euro sign would be cut */
    T_EQ_STR(b, "ab\xe2\x82\xac");
    T_EQ_INT(as_utf8_one_line(c, 100), 2);
    T_EQ_STR(c, "ok");
}

int main(void)
{
    T_RUN(utf8__accepts_valid);
    T_RUN(utf8__rejects_malformed);
    T_RUN(utf8__encode_decode_round_trip);
    T_RUN(utf8__one_line);
    return t_done();
}
