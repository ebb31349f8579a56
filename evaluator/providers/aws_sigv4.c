/* AWS Signature Version 4; see aws_sigv4.h. The steps follow the AWS
 * "Create a canonical request" / "Create a string to sign" / "Calculate the
 * signature" pages, checked against the AWS SigV4 test suite
 * (tests/providers/test_sigv4.c). */
#include "evaluator/providers/aws_sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/sha256.h"

#define SIGV4_MAX ((size_t)1 << 20)   /* canonical request cap */

void aws_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[AS_SHA256_LEN];

    as_sha256_once(data, len, d);
    as_hex(d, sizeof(d), hex);
}

void aws_amz_date(long long t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int aws_uri_encode(as_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = as_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = as_buf_append(b, e, 3);
        }
    }
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode %XX escapes of 'n' bytes of 's' into 'b' ('+' stays literal, as
 * AWS treats it). A malformed escape is kept as written. */
static int uri_decode(as_buf *b, const char *s, size_t n)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            rc = as_buf_putc(b, (char)(hi << 4 | lo));
            i += 2;
        } else {
            rc = as_buf_putc(b, s[i]);
        }
    }
    return rc;
}

/* The canonical URI. S3: the wire path as is. Others: remove empty, "." and
 * ".." segments (RFC 3986 normalisation), then percent-encode every segment
 * of the already-encoded path again. */
static int canonical_uri(as_buf *b, const char *path, int s3)
{
    const char *segs[256];
    size_t lens[256], nseg = 0, i, plen;
    const char *p;
    int rc = 0, trailing;

    if (path == NULL || *path == '\0')
        return as_buf_putc(b, '/');
    if (s3)
        return as_buf_puts(b, path);
    plen = strlen(path);
    trailing = path[plen - 1] == '/';
    for (p = path; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            /* empty or "." segment: dropped */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg > 0)
                nseg--;
        } else {
            if (nseg == sizeof(segs) / sizeof(segs[0]))
                return as_error_set(AS_ETOOBIG, "request path: more than 256 segments");
            segs[nseg] = p;
            lens[nseg++] = n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    for (i = 0; i < nseg && rc == 0; i++) {
        rc = as_buf_putc(b, '/');
        if (rc == 0)
            rc = aws_uri_encode(b, segs[i], lens[i], 0);
    }
    if (rc == 0 && (nseg == 0 || trailing))
        rc = as_buf_putc(b, '/');
    return rc;
}

/* One query parameter, encoded canonically. */
typedef struct qparam {
    char *key;
    char *val;
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->val, y->val);
}

/* Encode one query component canonically: decode what the wire form
 * escaped, then encode with the SigV4 rules. */
static char *encode_component(const char *s, size_t n)
{
    as_buf raw, enc;
    char *r = NULL;

    as_buf_init(&raw, SIGV4_MAX);
    as_buf_init(&enc, SIGV4_MAX);
    if (uri_decode(&raw, s, n) == 0 && aws_uri_encode(&enc, raw.data ? raw.data : "", raw.len, 0) == 0)
        r = as_buf_detach(&enc);
    as_buf_free(&raw);
    as_buf_free(&enc);
    return r;
}

/* The canonical query: parameters sorted by encoded name, then value. */
static int canonical_query(as_buf *b, const char *query)
{
    qparam *ps = NULL;
    size_t n = 0, cap = 0, i;
    const char *p;
    int rc = 0;

    if (query == NULL || *query == '\0')
        return 0;
    for (p = query; rc == 0;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                qparam *nps;
                if (ncap > 4096) {
                    rc = as_error_set(AS_ETOOBIG, "request query: more than 4096 parameters");
                    break;
                }
                nps = realloc(ps, ncap * sizeof(*ps));
                if (nps == NULL) {
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                    break;
                }
                ps = nps;
                cap = ncap;
            }
            ps[n].key = encode_component(p, klen);
            ps[n].val = eq ? encode_component(eq + 1, len - klen - 1) : encode_component("", 0);
            n++;
            if (ps[n - 1].key == NULL || ps[n - 1].val == NULL)
                rc = as_error_set(AS_ETOOBIG, "request query: too long");
        }
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    if (rc == 0) {
        qsort(ps, n, sizeof(*ps), qparam_cmp);
        for (i = 0; i < n && rc == 0; i++)
            rc = as_buf_printf(b, "%s%s=%s", i ? "&" : "", ps[i].key, ps[i].val);
    }
    for (i = 0; i < n; i++) {
        free(ps[i].key);
        free(ps[i].val);
    }
    free(ps);
    return rc;
}

/* A header prepared for signing: lower-case name, canonical value. */
typedef struct chdr {
    char *name;
    char *value;
    size_t order;   /* position in the request, to keep duplicates in order */
} chdr;

static int chdr_cmp(const void *a, const void *b)
{
    const chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Trim the value and collapse runs of spaces to one (AWS: "Trimall"). */
static char *trimall(const char *v)
{
    size_t n = strlen(v), i, o = 0;
    char *r = malloc(n + 1);
    int space = 0;

    if (r == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\t' || c == '\r' || c == '\n')
            c = ' ';
        if (c == ' ') {
            space = 1;
            continue;
        }
        if (space && o > 0)
            r[o++] = ' ';
        space = 0;
        r[o++] = c;
    }
    r[o] = '\0';
    return r;
}

/* Canonical headers (with their trailing blank line) into 'b' and the
 * signed-header list into 'sh'. Duplicate names are joined with ','. */
static int canonical_headers(as_buf *b, as_buf *sh, const aws_header *h, size_t n)
{
    chdr *hs;
    size_t i, j;
    int rc = 0;

    if (n == 0)
        return as_error_set(AS_EINVAL, "sigv4: no headers to sign (host is required)");
    if (n > 256)
        return as_error_set(AS_ETOOBIG, "sigv4: more than 256 headers");
    hs = calloc(n, sizeof(*hs));
    if (hs == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < n && rc == 0; i++) {
        size_t k, ln;
        if (h[i].name == NULL || h[i].value == NULL || (ln = strlen(h[i].name)) == 0) {
            rc = as_error_set(AS_EINVAL, "sigv4: header %zu has no name or value", i);
            break;
        }
        hs[i].name = malloc(ln + 1);
        hs[i].value = trimall(h[i].value);
        hs[i].order = i;
        if (hs[i].name == NULL || hs[i].value == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            break;
        }
        for (k = 0; k <= ln; k++)
            hs[i].name[k] = (char)tolower((unsigned char)h[i].name[k]);
        for (k = 0; k < ln; k++) {
            unsigned char c = (unsigned char)hs[i].name[k];
            if (c <= ' ' || c == ':' || c >= 0x7f) {
                rc = as_error_set(AS_EINVAL, "sigv4: header name '%s' is not a token", hs[i].name);
                break;
            }
        }
    }
    if (rc == 0)
        qsort(hs, n, sizeof(*hs), chdr_cmp);
    for (i = 0; i < n && rc == 0; i = j) {
        rc = as_buf_printf(b, "%s:%s", hs[i].name, hs[i].value);
        for (j = i + 1; j < n && rc == 0 && strcmp(hs[j].name, hs[i].name) == 0; j++)
            rc = as_buf_printf(b, ",%s", hs[j].value);
        if (rc == 0)
            rc = as_buf_putc(b, '\n');
        if (rc == 0)
            rc = as_buf_printf(sh, "%s%s", i ? ";" : "", hs[i].name);
    }
    for (i = 0; i < n; i++) {
        free(hs[i].name);
        free(hs[i].value);
    }
    free(hs);
    return rc;
}

static int valid_date(const char *d)
{
    size_t i;

    if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i]))
            return 0;
    return 1;
}

static int valid_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return 0;
    return 1;
}

void aws_sigv4_output_free(aws_sigv4_output *out)
{
    if (out == NULL)
        return;
    free(out->canonical_request);
    free(out->string_to_sign);
    free(out->signed_headers);
    free(out->authorization);
    memset(out, 0, sizeof(*out));
}

int aws_sigv4_sign(aws_sigv4_output *out, const aws_sigv4_input *in,
                   const char *access_key, const char *secret_key)
{
    as_buf creq, sh, sts, key, auth;
    unsigned char k[AS_SHA256_LEN], sig[AS_SHA256_LEN];
    char hash[65], day[9];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!valid_date(in->amz_date))
        return as_error_set(AS_EINVAL, "sigv4: date '%s' is not YYYYMMDDTHHMMSSZ",
                            in->amz_date ? in->amz_date : "");
    if (!valid_token(in->method) || !valid_token(in->region) || !valid_token(in->service))
        return as_error_set(AS_EINVAL, "sigv4: method, region and service must be tokens");
    if (in->payload_hash == NULL || access_key == NULL || secret_key == NULL)
        return as_error_set(AS_EINVAL, "sigv4: payload hash and credentials are required");
    memcpy(day, in->amz_date, 8);
    day[8] = '\0';

    as_buf_init(&creq, SIGV4_MAX);
    as_buf_init(&sh, SIGV4_MAX);
    as_buf_init(&sts, SIGV4_MAX);
    as_buf_init(&key, 4096);
    as_buf_init(&auth, SIGV4_MAX);

    /* Task 1: the canonical request. */
    rc = as_buf_printf(&creq, "%s\n", in->method);
    if (rc == 0)
        rc = canonical_uri(&creq, in->path, in->s3);
    if (rc == 0)
        rc = as_buf_putc(&creq, '\n');
    if (rc == 0)
        rc = canonical_query(&creq, in->query);
    if (rc == 0)
        rc = as_buf_putc(&creq, '\n');
    if (rc == 0)
        rc = canonical_headers(&creq, &sh, in->headers, in->n_headers);
    if (rc == 0)
        rc = as_buf_printf(&creq, "\n%s\n%s", sh.data, in->payload_hash);

    /* Task 2: the string to sign. */
    if (rc == 0) {
        aws_sha256_hex(creq.data, creq.len, hash);
        rc = as_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                           in->amz_date, day, in->region, in->service, hash);
    }

    /* Task 3: the signing key chain and the signature. */
    if (rc == 0)
        rc = as_buf_printf(&key, "AWS4%s", secret_key);
    if (rc == 0) {
        as_hmac_sha256(key.data, key.len, day, 8, k);
        as_hmac_sha256(k, sizeof(k), in->region, strlen(in->region), k);
        as_hmac_sha256(k, sizeof(k), in->service, strlen(in->service), k);
        as_hmac_sha256(k, sizeof(k), "aws4_request", 12, k);
        as_hmac_sha256(k, sizeof(k), sts.data, sts.len, sig);
        as_hex(sig, sizeof(sig), out->signature);
        rc = as_buf_printf(&auth,
                           "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                           "SignedHeaders=%s, Signature=%s",
                           access_key, day, in->region, in->service, sh.data, out->signature);
    }
    /* The secret-derived bytes are wiped before the memory is released. */
    memset(k, 0, sizeof(k));
    if (key.data)
        memset(key.data, 0, key.len);
    as_buf_free(&key);
    if (rc == 0) {
        out->canonical_request = as_buf_detach(&creq);
        out->string_to_sign = as_buf_detach(&sts);
        out->signed_headers = as_buf_detach(&sh);
        out->authorization = as_buf_detach(&auth);
    }
    as_buf_free(&creq);
    as_buf_free(&sh);
    as_buf_free(&sts);
    as_buf_free(&auth);
    if (rc < 0)
        aws_sigv4_output_free(out);
    return rc;
}
