/* SigV4 against the AWS Signature Version 4 test suite
 * (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html; the
 * files are kept e.g. in bazelbuild/bazel third_party/aws-sig-v4-test-suite):
 * credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region
 * us-east-1, service "service", 2015-08-30T12:36:00Z. The canonical request,
 * string to sign and Authorization are compared byte for byte where the
 * suite publishes them. Then the rules assay depends on beyond the suite:
 * Bedrock model ids with ':' and S3 paths. */
#include <stdlib.h>
#include <string.h>

#include "evaluator/providers/aws_env.h"
#include "evaluator/providers/aws_sigv4.h"
#include "tests/test.h"

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DATE "20150830T123600Z"
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AUTH_PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define STS_PREFIX "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
#define STS_TOKEN                                                                          \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicR" \
    "XmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsbu" \
    "rEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iP" \
    "PkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

typedef struct vec {
    const char *name;
    const char *method, *path, *query;
    aws_header headers[6];      /* besides Host and X-Amz-Date */
    const char *body;
    const char *creq;           /* NULL where the suite's file is not used */
    const char *sts;
    const char *authz;
} vec;

static const vec suite[] = {
    {"get-vanilla", "GET", "/", NULL, {{0}}, "",
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key", "GET", "/", "Param1=value2&Param1=Value1", {{0}}, "",
     "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
    {"get-vanilla-query-order-value", "GET", "/", "Param1=value2&Param1=value1", {{0}}, "",
     "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
    {"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", {{0}}, "",
     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-empty-query-key", "GET", "/", "Param1=value1", {{0}}, "",
     "GET\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-unreserved", "GET", "/",
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}}, "",
     "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar", {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL, {{0}}, "",
     "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8", "GET", "/\xe1\x88\xb4", NULL, {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-header-key-duplicate", "GET", "/", NULL,
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     AUTH_PREFIX "SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order", "GET", "/", NULL,
     {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}}, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
     AUTH_PREFIX "SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim", "GET", "/", NULL,
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, "",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     AUTH_PREFIX "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"post-vanilla", "POST", "/", NULL, {{0}}, "",
     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query", "POST", "/", "Param1=value1", {{0}}, "",
     "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-header-key-sort", "POST", "/", NULL, {{"My-Header1", "value1"}}, "",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
     AUTH_PREFIX "SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case", "POST", "/", NULL, {{"My-Header1", "VALUE1"}}, "",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
     AUTH_PREFIX "SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {"post-sts-header-before", "POST", "/", NULL, {{"X-Amz-Security-Token", STS_TOKEN}}, "",
     "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" STS_TOKEN "\n\nhost;x-amz-date;x-amz-security-token\n" EMPTY_HASH,
     STS_PREFIX "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    {"post-x-www-form-urlencoded", "POST", "/", NULL,
     {{"Content-Type", "application/x-www-form-urlencoded"}}, "Param1=value1",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     STS_PREFIX "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
     AUTH_PREFIX "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    /* normalize-path */
    {"get-space", "GET", "/example space/", NULL, {{0}}, "",
     "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-slashes", "GET", "//example//", NULL, {{0}}, "",
     "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-slash-pointless-dot", "GET", "/./example", NULL, {{0}}, "",
     "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_HASH,
     STS_PREFIX "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
    {"get-relative", "GET", "/example/..", NULL, {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-relative-relative", "GET", "/example1/example2/../..", NULL, {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-slash", "GET", "//", NULL, {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-slash-dot-slash", "GET", "/./", NULL, {{0}}, "", NULL, NULL,
     AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
};

static void sign_vec(const vec *v, aws_sigv4_output *out, int *rc)
{
    aws_header hs[8];
    aws_sigv4_input in;
    char hash[65];
    size_t n = 0, i;

    hs[n++] = (aws_header){"Host", "example.amazonaws.com"};
    for (i = 0; i < 6 && v->headers[i].name; i++)
        hs[n++] = v->headers[i];
    hs[n++] = (aws_header){"X-Amz-Date", DATE};
    aws_sha256_hex(v->body, strlen(v->body), hash);
    memset(&in, 0, sizeof(in));
    in.method = v->method;
    in.path = v->path;
    in.query = v->query;
    in.headers = hs;
    in.n_headers = n;
    in.payload_hash = hash;
    in.region = "us-east-1";
    in.service = "service";
    in.amz_date = DATE;
    *rc = aws_sigv4_sign(out, &in, AK, SK);
}

static void sigv4__aws_test_suite(void)
{
    size_t i;

    for (i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
        aws_sigv4_output out;
        int rc;
        sign_vec(&suite[i], &out, &rc);
        T_OK(rc);
        if (rc < 0) {
            fprintf(stderr, "  in case %s\n", suite[i].name);
            continue;
        }
        if (suite[i].creq && strcmp(out.canonical_request, suite[i].creq) != 0)
            fprintf(stderr, "  %s canonical request:\n%s\n", suite[i].name, out.canonical_request);
        if (suite[i].creq)
            T_EQ_STR(out.canonical_request, suite[i].creq);
        if (suite[i].sts)
            T_EQ_STR(out.string_to_sign, suite[i].sts);
        if (strcmp(out.authorization, suite[i].authz) != 0)
            fprintf(stderr, "  case %s\n", suite[i].name);
        T_EQ_STR(out.authorization, suite[i].authz);
        aws_sigv4_output_free(&out);
    }
}

/* A Bedrock model id with ':' is sent as %3A; AWS signs the path encoded
 * once more, so the canonical URI must carry %253A. */
static void sigv4__bedrock_model_id_colon_double_encoded(void)
{
    aws_header hs[] = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"},
                       {"Content-Type", "application/json"},
                       {"X-Amz-Date", DATE}};
    aws_sigv4_input in = {"POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", NULL,
                          hs, 3, EMPTY_HASH, "us-east-1", "bedrock", DATE, 0};
    aws_sigv4_output out;

    T_OK(aws_sigv4_sign(&out, &in, AK, SK));
    {
        static const char want[] = "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n";
        T_CHECK(out.canonical_request &&
                strncmp(out.canonical_request, want, sizeof(want) - 1) == 0);
    }
    T_EQ_STR(out.signed_headers, "content-type;host;x-amz-date");
    aws_sigv4_output_free(&out);

    /* The same path signed verbatim (what libcurl 7.88 does) must differ. */
    in.s3 = 1;
    T_OK(aws_sigv4_sign(&out, &in, AK, SK));
    T_CHECK(strstr(out.canonical_request, "v1%3A0/converse") != NULL);
    aws_sigv4_output_free(&out);
}

/* S3 keys: path signed as sent (once encoded, not normalised, '//' kept). */
static void sigv4__s3_path_single_encoded(void)
{
    aws_header hs[] = {{"Host", "bucket.s3.us-east-1.amazonaws.com"},
                       {"x-amz-content-sha256", EMPTY_HASH},
                       {"X-Amz-Date", DATE}};
    aws_sigv4_input in = {"PUT", "/in/a%3Ab//./c.json", NULL, hs, 3, EMPTY_HASH, "us-east-1", "s3",
                          DATE, 1};
    aws_sigv4_output out;

    T_OK(aws_sigv4_sign(&out, &in, AK, SK));
    T_CHECK(strncmp(out.canonical_request, "PUT\n/in/a%3Ab//./c.json\n\n", 25) == 0);
    T_EQ_STR(out.signed_headers, "host;x-amz-content-sha256;x-amz-date");
    aws_sigv4_output_free(&out);
}

static void sigv4__rejects_bad_input(void)
{
    aws_header hs[] = {{"Host", "h"}};
    aws_sigv4_input in = {"GET", "/", NULL, hs, 1, EMPTY_HASH, "us-east-1", "s", "2015-08-30", 0};
    aws_sigv4_output out;

    T_ERR(aws_sigv4_sign(&out, &in, AK, SK), AS_EINVAL);
    in.amz_date = DATE;
    in.n_headers = 0;
    T_ERR(aws_sigv4_sign(&out, &in, AK, SK), AS_EINVAL);
    in.n_headers = 1;
    in.region = "us east";
    T_ERR(aws_sigv4_sign(&out, &in, AK, SK), AS_EINVAL);
}

/* The full request helper: session token signed, headers ready for curl,
 * the Host value as curl sends it, and the secret nowhere in the output. */
static void sigv4__sign_request_headers(void)
{
    aws_creds c = {AK, SK, "TOKEN123"};
    aws_header ct = {"Content-Type", "application/json"};
    aws_signed s;
    size_t i;
    int host = 0, token = 0, authz = 0, sha = 0;

    T_OK(aws_sign_request(&s, "POST", "http://127.0.0.1:8080/endpoints/e1/invocations", &ct, 1,
                          "{}", 2, &c, "us-east-1", AWS_SAGEMAKER_RUNTIME, 1440938160));
    for (i = 0; i < s.n_headers; i++) {
        T_CHECK(strstr(s.headers[i], SK) == NULL);
        host += strcmp(s.headers[i], "Host: 127.0.0.1:8080") == 0;
        token += strcmp(s.headers[i], "X-Amz-Security-Token: TOKEN123") == 0;
        sha += strncmp(s.headers[i], "x-amz-content-sha256:", 21) == 0;
        authz += strncmp(s.headers[i],
                         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                         "sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                         "x-amz-security-token, Signature=", 149) == 0;
    }
    T_EQ_INT(host, 1);
    T_EQ_INT(token, 1);
    T_EQ_INT(sha, 0);
    T_EQ_INT(authz, 1);
    aws_signed_free(&s);

    T_OK(aws_sign_request(&s, "GET", "https://b.s3.eu-west-1.amazonaws.com:443/k", NULL, 0, NULL,
                          0, &c, "eu-west-1", AWS_S3, 1440938160));
    for (i = 0, host = sha = 0; i < s.n_headers; i++) {
        host += strcmp(s.headers[i], "Host: b.s3.eu-west-1.amazonaws.com") == 0;
        sha += strcmp(s.headers[i], "x-amz-content-sha256: " EMPTY_HASH) == 0;
    }
    T_EQ_INT(host, 1);
    T_EQ_INT(sha, 1);
    aws_signed_free(&s);
}

static void env__endpoint_order(void)
{
    char *u;
    int custom;

    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    u = aws_endpoint(AWS_BEDROCK_RUNTIME, "eu-west-3", NULL, &custom);
    T_EQ_STR(u, "https://bedrock-runtime.eu-west-3.amazonaws.com");
    T_EQ_INT(custom, 0);
    free(u);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
    u = aws_endpoint(AWS_SAGEMAKER_RUNTIME, "eu-west-3", NULL, &custom);
    T_EQ_STR(u, "http://127.0.0.1:9");
    T_EQ_INT(custom, 1);
    free(u);
    setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://localhost:7", 1);
    u = aws_endpoint(AWS_BEDROCK_RUNTIME, "eu-west-3", NULL, &custom);
    T_EQ_STR(u, "http://localhost:7");
    free(u);
    u = aws_endpoint(AWS_BEDROCK_RUNTIME, "eu-west-3", "https://vpce.example/x", &custom);
    T_EQ_STR(u, "https://vpce.example/x");
    free(u);
    T_CHECK(aws_endpoint(AWS_S3, "eu-west-3", "ftp://x", &custom) == NULL);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
}

static void env__credentials_and_region(void)
{
    aws_creds c;
    char *r;

    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "very-secret", 1);
    T_ERR(aws_creds_from_env(&c), AS_EAUTH);
    T_CHECK(strstr(as_error_msg(), "AWS_ACCESS_KEY_ID") != NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIA1", 1);
    unsetenv("AWS_SESSION_TOKEN");
    T_OK(aws_creds_from_env(&c));
    T_EQ_STR(c.access_key, "AKIA1");
    T_CHECK(c.session_token == NULL);
    aws_creds_free(&c);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    T_ERR(aws_creds_from_env(&c), AS_EAUTH);
    T_CHECK(strstr(as_error_msg(), "very-secret") == NULL);

    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    T_CHECK(aws_region(NULL) == NULL);
    setenv("AWS_REGION", "ap-south-1", 1);
    r = aws_region(NULL);
    T_EQ_STR(r, "ap-south-1");
    free(r);
    r = aws_region("us-west-2");
    T_EQ_STR(r, "us-west-2");
    free(r);
    T_CHECK(aws_region("us/../x") == NULL);
}

int main(void)
{
    T_RUN(sigv4__aws_test_suite);
    T_RUN(sigv4__bedrock_model_id_colon_double_encoded);
    T_RUN(sigv4__s3_path_single_encoded);
    T_RUN(sigv4__rejects_bad_input);
    T_RUN(sigv4__sign_request_headers);
    T_RUN(env__endpoint_order);
    T_RUN(env__credentials_and_region);
    return t_done();
}
