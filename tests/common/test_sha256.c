/* common/sha256: FIPS 180-4 and RFC 4231 vectors. */
#include "common/sha256.h"
#include "tests/test.h"

static void hexof(const void *data, size_t len, char *out)
{
    unsigned char d[AS_SHA256_LEN];

    as_sha256_once(data, len, d);
    as_hex(d, sizeof(d), out);
}

static void sha256__fips_vectors(void)
{
    char h[65];
    char million[1000];
    as_sha256 c;
    unsigned char d[AS_SHA256_LEN];
    int i;

    hexof("", 0, h);
    T_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hexof("abc", 3, h);
    T_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hexof("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
    T_EQ_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(million, 'a', sizeof(million));
    as_sha256_init(&c);
    for (i = 0; i < 1000; i++)
        as_sha256_update(&c, million, sizeof(million));
    as_sha256_final(&c, d);
    as_hex(d, sizeof(d), h);
    T_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void sha256__hmac_rfc4231(void)
{
    unsigned char key[20], d[AS_SHA256_LEN];
    char h[65];

    memset(key, 0x0b, sizeof(key));
    as_hmac_sha256(key, sizeof(key), "Hi There", 8, d);
    as_hex(d, sizeof(d), h);
    T_EQ_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    as_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    as_hex(d, sizeof(d), h);
    T_EQ_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

int main(void)
{
    T_RUN(sha256__fips_vectors);
    T_RUN(sha256__hmac_rfc4231);
    return t_done();
}
