/* The shared pieces of the cloud providers: the line splitter (any split,
 * CRLF, the cap), the capped output text (cut on a UTF-8 boundary), the
 * signing hook over a finished request, and header-value checks. */
#include <stdlib.h>
#include <string.h>

#include "evaluator/providers/aws_prov.h"
#include "tests/test.h"

typedef struct got {
    char all[1024];
    int n;
} got;

static int on_line(void *ctx, const char *line, size_t len)
{
    got *g = ctx;

    if (strlen(g->all) + len + 2 < sizeof(g->all)) {
        strncat(g->all, line, len);
        strncat(g->all, "|", 2);
    }
    g->n++;
    return 0;
}

static void lines__every_split(void)
{
    static const char text[] = "data:{\"a\":1}\r\n\r\n{\"b\":2}\nlast";
    size_t n = strlen(text), cut;

    for (cut = 0; cut <= n; cut++) {
        aws_lines l;
        got g;
        memset(&g, 0, sizeof(g));
        aws_lines_init(&l, 64);
        T_OK(aws_lines_feed(&l, text, cut, on_line, &g));
        T_OK(aws_lines_feed(&l, text + cut, n - cut, on_line, &g));
        T_OK(aws_lines_finish(&l, on_line, &g));
        T_EQ_STR(g.all, "data:{\"a\":1}||{\"b\":2}|last|");
        aws_lines_free(&l);
    }
}

static void lines__cap(void)
{
    aws_lines l;
    got g;
    char big[100];

    memset(&g, 0, sizeof(g));
    memset(big, 'x', sizeof(big));
    aws_lines_init(&l, 64);
    T_ERR(aws_lines_feed(&l, big, sizeof(big), on_line, &g), AS_ETOOBIG);
    aws_lines_free(&l);
}

static void text__cut_on_utf8_boundary(void)
{
    aws_text t;
    size_t i, n = PROV_OUTPUT_MAX / 3 + 10;
    char *e = malloc(3 * n);

    for (i = 0; i < n; i++)
        memcpy(e + 3 * i, "\xe2\x82\xac", 3);     /* the euro sign */
    aws_text_init(&t);
    T_OK(aws_text_append(&t, "a", 1));
    T_OK(aws_text_append(&t, e, 3 * n));
    T_EQ_INT(t.truncated, 1);
    T_CHECK(t.buf.len <= PROV_OUTPUT_MAX);
    T_EQ_INT((t.buf.len - 1) % 3, 0);              /* whole characters only */
    T_OK(aws_text_append(&t, "more", 4));          /* full: dropped, still fine */
    T_CHECK(t.buf.len <= PROV_OUTPUT_MAX);
    aws_text_free(&t);
    free(e);
}

static void sign__replaces_and_checks(void)
{
    aws_creds c = {"AKID", "SECRET", NULL};
    prov_request req;
    size_t i, auth = 0, date = 0;

    memset(&req, 0, sizeof(req));
    memcpy(req.method, "POST", 5);
    T_OK(prov_request_set_url(&req, "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/e/invocations"));
    T_OK(prov_request_add_header(&req, "Content-Type: application/json"));
    T_OK(prov_request_add_header(&req, "Authorization: stale"));
    T_OK(aws_prov_sign(&req, &c, "us-east-1", AWS_SAGEMAKER_RUNTIME, 1700000000));
    T_OK(aws_prov_sign(&req, &c, "us-east-1", AWS_SAGEMAKER_RUNTIME, 1700000001));
    for (i = 0; i < req.nheaders; i++) {
        auth += strncmp(req.headers[i], "Authorization: AWS4-HMAC-SHA256 ", 32) == 0;
        date += strcmp(req.headers[i], "X-Amz-Date: 20231114T221321Z") == 0;
        T_CHECK(strstr(req.headers[i], "stale") == NULL);
        T_CHECK(strstr(req.headers[i], "SECRET") == NULL);
    }
    T_EQ_INT(auth, 1);
    T_EQ_INT(date, 1);
    T_OK(prov_request_add_header(&req, "Broken"));
    T_ERR(aws_prov_sign(&req, &c, "us-east-1", AWS_SAGEMAKER_RUNTIME, 1700000000), AS_EINVAL);
    prov_request_clear(&req);

    T_OK(prov_header_value_check("AllTraffic", "v"));
    T_ERR(prov_header_value_check("a\r\nb: c", "v"), AS_EINVAL);
    T_ERR(prov_header_value_check("caf\xc3\xa9", "v"), AS_EINVAL);
}

int main(void)
{
    T_RUN(lines__every_split);
    T_RUN(lines__cap);
    T_RUN(text__cut_on_utf8_boundary);
    T_RUN(sign__replaces_and_checks);
    return t_done();
}
