/* The gate's reports from gate_run's result (evaluator/gate.h): JUnit XML
 * for CI test viewers and a markdown summary for pull-request comments and
 * job summaries. Every text from outside (case ids, outputs, expected
 * answers, model and suite names) is escaped for its format. */
#include "evaluator/gate.h"
#include "common/buf.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define REPORT_MAX ((size_t)256 << 20)  /* a report, whatever the number of cases */
#define MD_LIST_MAX 50                  /* case ids listed per kind in markdown */

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

/* ---- XML ---- */

/* Length of the UTF-8 sequence at s (1 for a stray byte), and whether XML
 * 1.0 allows the character: #x9 | #xA | #xD | [#x20-#xD7FF] |
 * [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
static size_t xml_char(const unsigned char *s, int *allowed)
{
    unsigned c = s[0];

    if (c < 0x80) {
        *allowed = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
        return 1;
    }
    if ((c & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *allowed = c >= 0xC2;
        return 2;
    }
    if ((c & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        unsigned cp = ((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        *allowed = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF;
        return 3;
    }
    if ((c & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80) {
        unsigned cp = ((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                      (s[3] & 0x3Fu);
        *allowed = cp >= 0x10000 && cp <= 0x10FFFF;
        return 4;
    }
    *allowed = 0;
    return 1;
}

/* Text escaped for XML content ('attr' 0) or a double-quoted attribute;
 * characters XML cannot carry become U+FFFD. */
static int xml_put(as_buf *b, const char *text, int attr)
{
    const unsigned char *s = (const unsigned char *)text;
    int rc = 0, ok;

    while (*s && rc == 0) {
        size_t n = xml_char(s, &ok);
        if (!ok)
            rc = as_buf_puts(b, "\xEF\xBF\xBD");
        else if (*s == '&')
            rc = as_buf_puts(b, "&amp;");
        else if (*s == '<')
            rc = as_buf_puts(b, "&lt;");
        else if (*s == '>')
            rc = as_buf_puts(b, "&gt;");
        else if (attr && *s == '"')
            rc = as_buf_puts(b, "&quot;");
        else if (attr && *s == '\n')
            rc = as_buf_puts(b, "&#10;");
        else if (attr && *s == '\r')
            rc = as_buf_puts(b, "&#13;");
        else if (attr && *s == '\t')
            rc = as_buf_puts(b, "&#9;");
        else if (*s == '\r')
            rc = as_buf_puts(b, "&#13;");     /* kept through XML's line-end normalization */
        else
            rc = as_buf_append(b, s, n);
        s += n;
    }
    return rc;
}

/* A JSON value as text: strings as they are, numbers with %.6g. */
static void value_text(char *buf, size_t size, const json_t *v)
{
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_number(v))
        snprintf(buf, size, "%.6g", json_number_value(v));
    else
        snprintf(buf, size, "not measured");
}

/* A duration for a time attribute: v x scale seconds, 0 when not measured
 * (cached answers, reused runs without timings). */
static double seconds(const json_t *v, double scale)
{
    double x = json_is_number(v) ? json_number_value(v) * scale : 0;

    return isfinite(x) && x > 0 ? x : 0;
}

typedef struct counts {
    size_t tests, failures, skipped;
} counts;

static void count_model(const json_t *m, counts *c)
{
    const json_t *v;
    size_t i;

    json_array_foreach(json_object_get(m, "checks"), i, v) {
        c->tests++;
        if (json_is_true(json_object_get(v, "skipped")))
            c->skipped++;
        else if (!json_is_true(json_object_get(v, "passed")))
            c->failures++;
    }
    json_array_foreach(json_object_get(m, "cases"), i, v) {
        c->tests++;
        if (!json_is_true(json_object_get(v, "passed")))
            c->failures++;
    }
}

static int junit_check(as_buf *b, const char *classname, const json_t *ck)
{
    char actual[64];
    int rc;

    value_text(actual, sizeof(actual), json_object_get(ck, "actual"));
    if ((rc = as_buf_puts(b, "    <testcase classname=\"")) < 0 || (rc = xml_put(b, classname, 1)) < 0 ||
        (rc = as_buf_puts(b, ".checks\" name=\"")) < 0 ||
        (rc = xml_put(b, str(ck, "name"), 1)) < 0 || (rc = as_buf_puts(b, "\" time=\"0\">")) < 0)
        return rc;
    if (json_is_true(json_object_get(ck, "skipped"))) {
        if ((rc = as_buf_puts(b, "<skipped message=\"")) < 0 ||
            (rc = xml_put(b, str(ck, "message"), 1)) < 0 || (rc = as_buf_puts(b, "\"/>")) < 0)
            return rc;
    } else if (!json_is_true(json_object_get(ck, "passed"))) {
        if ((rc = as_buf_puts(b, "\n      <failure message=\"")) < 0 ||
            (rc = xml_put(b, str(ck, "message"), 1)) < 0 ||
            (rc = as_buf_puts(b, "\" type=\"")) < 0 || (rc = xml_put(b, str(ck, "kind"), 1)) < 0 ||
            (rc = as_buf_puts(b, "\">expected: ")) < 0 ||
            (rc = xml_put(b, str(ck, "expected"), 0)) < 0 ||
            (rc = as_buf_puts(b, "\nactual: ")) < 0 || (rc = xml_put(b, actual, 0)) < 0 ||
            (rc = as_buf_puts(b, "\n")) < 0 || (rc = xml_put(b, str(ck, "message"), 0)) < 0 ||
            (rc = as_buf_puts(b, "</failure>\n    ")) < 0)
            return rc;
    }
    return as_buf_puts(b, "</testcase>\n");
}

static int junit_case(as_buf *b, const char *classname, const json_t *cs)
{
    const char *change = json_string_value(json_object_get(cs, "change"));
    const json_t *exp = json_object_get(cs, "expected");
    char score[64];
    int rc, regressed = change && strcmp(change, "regressed") == 0;

    value_text(score, sizeof(score), json_object_get(cs, "score"));
    if ((rc = as_buf_puts(b, "    <testcase classname=\"")) < 0 || (rc = xml_put(b, classname, 1)) < 0 ||
        (rc = as_buf_puts(b, ".cases\" name=\"")) < 0 || (rc = xml_put(b, str(cs, "id"), 1)) < 0 ||
        (rc = as_buf_printf(b, "\" time=\"%.3f\">", seconds(json_object_get(cs, "latency_ms"), 1e-3))) < 0)
        return rc;
    if (!json_is_true(json_object_get(cs, "passed"))) {
        if ((rc = as_buf_printf(b, "\n      <failure message=\"%s (score %s)\" type=\"%s\">",
                                regressed ? "regressed: passed on the baseline, fails now"
                                          : "fails", score,
                                regressed ? "regressed" : "case")) < 0 ||
            (rc = as_buf_puts(b, "expected: ")) < 0 ||
            (rc = xml_put(b, json_is_string(exp) ? json_string_value(exp) : "(no reference)", 0)) < 0 ||
            (rc = as_buf_puts(b, "\nactual: ")) < 0 || (rc = xml_put(b, str(cs, "output"), 0)) < 0 ||
            (rc = as_buf_puts(b, "</failure>\n    ")) < 0)
            return rc;
    }
    if (json_is_true(json_object_get(cs, "flaky")) &&
        (rc = as_buf_printf(b, "<system-out>flaky: %lld of %lld repetitions passed</system-out>",
                            (long long)json_integer_value(json_object_get(cs, "passes")),
                            (long long)json_integer_value(json_object_get(cs, "reps")))) < 0)
        return rc;
    return as_buf_puts(b, "</testcase>\n");
}

static int junit_model(as_buf *b, const char *suite, const json_t *m)
{
    char classname[512];
    const json_t *v;
    counts c = {0, 0, 0};
    size_t i;
    int rc;

    count_model(m, &c);
    snprintf(classname, sizeof(classname), "assay.gate.%s.%s", suite, str(m, "model"));
    if ((rc = as_buf_puts(b, "  <testsuite name=\"")) < 0 || (rc = xml_put(b, str(m, "model"), 1)) < 0 ||
        (rc = as_buf_printf(b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
                            "time=\"%.3f\">\n    <properties>\n",
                            c.tests, c.failures, c.skipped,
                            seconds(json_object_get(json_object_get(m, "candidate"), "busy_s"), 1))) < 0)
        return rc;
    {
        static const char *const sides[] = {"candidate", "baseline"};
        for (i = 0; i < 2; i++) {
            const json_t *s = json_object_get(m, sides[i]);
            if (!json_is_object(s))
                continue;
            if ((rc = as_buf_printf(b, "      <property name=\"%s_run\" value=\"%lld\"/>\n", sides[i],
                                    (long long)json_integer_value(json_object_get(s, "run_id")))) < 0)
                return rc;
        }
    }
    if ((rc = as_buf_printf(b, "      <property name=\"passed\" value=\"%s\"/>\n    </properties>\n",
                            json_is_true(json_object_get(m, "passed")) ? "true" : "false")) < 0)
        return rc;
    json_array_foreach(json_object_get(m, "checks"), i, v)
        if ((rc = junit_check(b, classname, v)) < 0)
            return rc;
    json_array_foreach(json_object_get(m, "cases"), i, v)
        if ((rc = junit_case(b, classname, v)) < 0)
            return rc;
    return as_buf_puts(b, "  </testsuite>\n");
}

int gate_report_junit(char **out, const json_t *result)
{
    as_buf b;
    counts c = {0, 0, 0};
    const json_t *m;
    size_t i;
    int rc;

    *out = NULL;
    as_buf_init(&b, REPORT_MAX);
    json_array_foreach(json_object_get(result, "models"), i, m)
        count_model(m, &c);
    if ((rc = as_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"assay gate ")) < 0 ||
        (rc = xml_put(&b, str(result, "suite"), 1)) < 0 ||
        (rc = as_buf_printf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"0\">\n", c.tests,
                            c.failures)) < 0)
        goto out;
    json_array_foreach(json_object_get(result, "models"), i, m)
        if ((rc = junit_model(&b, str(result, "suite"), m)) < 0)
            goto out;
    if ((rc = as_buf_puts(&b, "</testsuites>\n")) < 0)
        goto out;
    *out = as_buf_detach(&b);
    return 0;
out:
    as_buf_free(&b);
    return rc;
}

/* ---- markdown ---- */

/* Text safe inside a table cell and outside code spans: markdown and HTML
 * punctuation backslash-escaped, line breaks as spaces. */
static int md_put(as_buf *b, const char *s)
{
    int rc = 0;

    for (; *s && rc == 0; s++) {
        if (strchr("\\`*_[]<>#|~&", *s))
            rc = *s == '<' ? as_buf_puts(b, "&lt;") : *s == '>' ? as_buf_puts(b, "&gt;")
               : *s == '&' ? as_buf_puts(b, "&amp;") : as_buf_printf(b, "\\%c", *s);
        else if (*s == '\n' || *s == '\r' || *s == '\t')
            rc = as_buf_putc(b, ' ');
        else
            rc = as_buf_putc(b, *s);
    }
    return rc;
}

static const char *mark(int ok)
{
    return ok ? "\xE2\x9C\x85 passed" : "\xE2\x9D\x8C failed";
}

static int md_version(as_buf *b, const json_t *v)
{
    int rc;

    if ((rc = md_put(b, str(v, "name"))) < 0)
        return rc;
    return as_buf_printf(b, " v%lld (%.7s)", (long long)json_integer_value(json_object_get(v, "version")),
                         str(v, "commit"));
}

static int md_ids(as_buf *b, const char *title, const json_t *ids)
{
    const json_t *v;
    size_t i, n = json_array_size(ids);
    int rc;

    if (n == 0)
        return 0;
    if ((rc = as_buf_printf(b, "\n**%s** (%zu): ", title, n)) < 0)
        return rc;
    json_array_foreach(ids, i, v) {
        if (i == MD_LIST_MAX)
            return as_buf_printf(b, " and %zu more\n", n - MD_LIST_MAX);
        if ((i && (rc = as_buf_puts(b, ", ")) < 0) || (rc = md_put(b, json_string_value(v))) < 0)
            return rc;
    }
    return as_buf_puts(b, "\n");
}

static int md_check(as_buf *b, const json_t *ck)
{
    char actual[64], extra[160] = "";
    const json_t *p = json_object_get(ck, "p_value");
    int rc;

    value_text(actual, sizeof(actual), json_object_get(ck, "actual"));
    if (strcmp(str(ck, "kind"), "regression") == 0) {
        const json_t *d = json_object_get(ck, "delta");
        if (json_is_number(d) && json_is_number(p))
            snprintf(extra, sizeof(extra), " (change %+.4g; %s p = %.4g)", json_number_value(d),
                     strcmp(str(ck, "test"), "mcnemar") == 0 ? "McNemar" : "paired bootstrap",
                     json_number_value(p));
        else
            snprintf(extra, sizeof(extra), " (no paired cases)");
    }
    if ((rc = as_buf_puts(b, "| ")) < 0 || (rc = md_put(b, str(ck, "name"))) < 0 ||
        (rc = as_buf_puts(b, " | ")) < 0 || (rc = md_put(b, str(ck, "expected"))) < 0 ||
        (rc = as_buf_puts(b, " | ")) < 0 || (rc = md_put(b, actual)) < 0 ||
        (rc = md_put(b, extra)) < 0 || (rc = as_buf_printf(b, " | %s | ", str(ck, "source"))) < 0)
        return rc;
    return as_buf_printf(b, "%s |\n", json_is_true(json_object_get(ck, "skipped")) ? "skipped"
                                      : mark(json_is_true(json_object_get(ck, "passed"))));
}

static int md_model(as_buf *b, const json_t *m)
{
    const json_t *ck, *cand = json_object_get(m, "candidate"), *base = json_object_get(m, "baseline");
    size_t i;
    int rc;

    if ((rc = as_buf_puts(b, "\n### Model ")) < 0 || (rc = md_put(b, str(m, "model"))) < 0 ||
        (rc = as_buf_printf(b, ": %s\n\nCandidate run %lld%s", mark(json_is_true(json_object_get(m, "passed"))),
                            (long long)json_integer_value(json_object_get(cand, "run_id")),
                            json_is_true(json_object_get(cand, "reused")) ? " (reused)" : "")) < 0)
        return rc;
    if (json_is_object(base) &&
        (rc = as_buf_printf(b, ", baseline run %lld%s", (long long)json_integer_value(json_object_get(base, "run_id")),
                            json_is_true(json_object_get(base, "reused")) ? " (reused)" : "")) < 0)
        return rc;
    {
        size_t n = 0, pass = 0, bn = 0, bpass = 0;
        const json_t *cs;
        json_array_foreach(json_object_get(m, "cases"), i, cs) {
            const json_t *bp = json_object_get(cs, "baseline_passed");
            n++;
            pass += json_is_true(json_object_get(cs, "passed"));
            bn += json_is_boolean(bp);
            bpass += json_is_true(bp);
        }
        if ((rc = as_buf_printf(b, ". Cases passing: %zu of %zu", pass, n)) < 0 ||
            (bn && (rc = as_buf_printf(b, " (baseline: %zu of %zu)", bpass, bn)) < 0))
            return rc;
    }
    if ((rc = as_buf_puts(b, ".\n\n| check | expected | actual | from | result |\n"
                             "|---|---|---|---|---|\n")) < 0)
        return rc;
    json_array_foreach(json_object_get(m, "checks"), i, ck)
        if ((rc = md_check(b, ck)) < 0)
            return rc;
    if (json_array_size(json_object_get(m, "checks")) == 0 &&
        (rc = as_buf_puts(b, "| (no checks) | | | | |\n")) < 0)
        return rc;
    if ((rc = md_ids(b, "Regressed cases (passed on the baseline, fail now)",
                     json_object_get(json_object_get(m, "changes"), "regressed"))) < 0 ||
        (rc = md_ids(b, "Fixed cases (failed on the baseline, pass now)",
                     json_object_get(json_object_get(m, "changes"), "fixed"))) < 0 ||
        (rc = md_ids(b, "Flaky cases (repetitions disagree)", json_object_get(m, "flaky"))) < 0)
        return rc;
    return 0;
}

int gate_report_markdown(char **out, const json_t *result)
{
    const json_t *base = json_object_get(result, "baseline"), *m, *note;
    as_buf b;
    size_t i;
    int rc;

    *out = NULL;
    as_buf_init(&b, REPORT_MAX);
    if ((rc = as_buf_printf(&b, "## assay gate: %s\n\nSuite ", mark(json_is_true(json_object_get(result, "passed"))))) < 0 ||
        (rc = md_put(&b, str(result, "suite"))) < 0 || (rc = as_buf_puts(&b, ", dataset ")) < 0 ||
        (rc = md_version(&b, json_object_get(result, "dataset"))) < 0 ||
        (rc = as_buf_puts(&b, ". Candidate prompt ")) < 0 ||
        (rc = md_version(&b, json_object_get(json_object_get(result, "candidate"), "prompt"))) < 0 ||
        (rc = as_buf_puts(&b, "; baseline ")) < 0)
        goto out;
    if (strcmp(str(base, "kind"), "prompt") == 0)
        rc = md_version(&b, json_object_get(base, "prompt"));
    else if (strcmp(str(base, "kind"), "run") == 0)
        rc = as_buf_printf(&b, "run %lld", (long long)json_integer_value(json_object_get(base, "run_id")));
    else
        rc = as_buf_puts(&b, "none");
    if (rc < 0 || (rc = as_buf_printf(&b, "; alpha %g.\n", json_number_value(json_object_get(result, "alpha")))) < 0)
        goto out;
    json_array_foreach(json_object_get(result, "notes"), i, note)
        if ((rc = as_buf_puts(&b, "\n> ")) < 0 || (rc = md_put(&b, json_string_value(note))) < 0 ||
            (rc = as_buf_puts(&b, "\n")) < 0)
            goto out;
    json_array_foreach(json_object_get(result, "models"), i, m)
        if ((rc = md_model(&b, m)) < 0)
            goto out;
    *out = as_buf_detach(&b);
    return 0;
out:
    as_buf_free(&b);
    return rc;
}
