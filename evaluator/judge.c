/* LLM-as-judge prompts and strict answer parsing (judge.h). */
#include "evaluator/judge.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *two_messages(const char *system, char *user)
{
    json_t *m;

    if (user == NULL)
        return NULL;
    m = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", system, "role", "user",
                  "content", user);
    free(user);
    return m;
}

json_t *judge_single_messages(const char *rubric, const char *question, const char *output,
                              const char *reference)
{
    as_buf b;

    as_buf_init(&b, 0);
    as_buf_printf(&b, "[Question]\n%s\n\n", question);
    if (reference)
        as_buf_printf(&b, "[The Start of Reference Answer]\n%s\n[The End of Reference Answer]\n\n",
                      reference);
    if (as_buf_printf(&b, "[The Start of Assistant's Answer]\n%s\n[The End of Assistant's Answer]",
                      output) < 0) {
        as_buf_free(&b);
        return NULL;
    }
    return two_messages(rubric ? rubric : JUDGE_DEFAULT_RUBRIC, as_buf_detach(&b));
}

json_t *judge_pair_messages(const char *rubric, const char *question, const char *a,
                            const char *b, const char *reference)
{
    as_buf t;

    as_buf_init(&t, 0);
    as_buf_printf(&t, "[User Question]\n%s\n\n", question);
    if (reference)
        as_buf_printf(&t, "[The Start of Reference Answer]\n%s\n[The End of Reference Answer]\n\n",
                      reference);
    if (as_buf_printf(&t, "[The Start of Assistant A's Answer]\n%s\n[The End of Assistant A's "
                      "Answer]\n\n[The Start of Assistant B's Answer]\n%s\n[The End of Assistant "
                      "B's Answer]", a, b) < 0) {
        as_buf_free(&t);
        return NULL;
    }
    return two_messages(rubric ? rubric : JUDGE_PAIRWISE_RUBRIC, as_buf_detach(&t));
}

/* The answer as one JSON object: the whole text, or the inside of a single
 * ```json fence. NULL when it is not. */
static json_t *answer_json(const char *answer)
{
    const char *s = answer, *e;
    json_t *v = NULL;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (e - s >= 6 && strncmp(s, "```", 3) == 0 && strncmp(e - 3, "```", 3) == 0) {
        s += 3;
        if (strncmp(s, "json", 4) == 0)
            s += 4;
        e -= 3;
    }
    while (s < e && isspace((unsigned char)*s))
        s++;
    if (s >= e || *s != '{')
        return NULL;
    if (as_json_parse(&v, s, (size_t)(e - s), "judge answer") < 0 || !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Find the one "[[...]]" in the answer: its inside into in (cut to size)
 * and where it starts into *at. 0 none, 1 one, 2 more than one. */
static int find_tag(const char *answer, char *in, size_t size, const char **at)
{
    const char *p = answer, *o, *c;
    int found = 0;

    while ((o = strstr(p, "[[")) != NULL) {
        if ((c = strstr(o + 2, "]]")) == NULL)
            break;
        if (found == 0) {
            size_t n = (size_t)(c - (o + 2));
            if (n >= size)
                n = size - 1;
            memcpy(in, o + 2, n);
            in[n] = '\0';
            *at = o;
        }
        found++;
        p = c + 2;
    }
    return found > 1 ? 2 : found;
}

static char *trimmed_copy(const char *s, size_t n)
{
    char *r;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if ((r = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

static int parse_score_text(const char *t, double *out)
{
    char *end;
    double v;

    while (isspace((unsigned char)*t))
        t++;
    if (!isdigit((unsigned char)*t))
        return -1;
    v = strtod(t, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int judge_parse_single(const char *answer, double *score, char **rationale)
{
    json_t *j = answer_json(answer), *sv;
    char tag[64];
    const char *at = NULL;
    double v;
    int n;

    *rationale = NULL;
    if (j) {
        const char *r = json_string_value(json_object_get(j, "rationale"));
        sv = json_object_get(j, "score");
        if (json_is_number(sv))
            v = json_number_value(sv);
        else if (!json_is_string(sv) || parse_score_text(json_string_value(sv), &v) < 0) {
            json_decref(j);
            return as_error_set(AS_EINVAL, "judge answer: JSON without a numeric \"score\"");
        }
        if (!(v >= 1 && v <= 10)) {
            json_decref(j);
            return as_error_set(AS_EINVAL, "judge answer: score %g is not in 1..10", v);
        }
        *score = v;
        *rationale = strdup(r ? r : "");
        json_decref(j);
        return *rationale ? 0 : as_error_set(AS_ENOMEM, "out of memory");
    }
    n = find_tag(answer, tag, sizeof(tag), &at);
    if (n == 0)
        return as_error_set(AS_EINVAL, "judge answer: neither JSON nor a [[rating]]");
    if (n > 1)
        return as_error_set(AS_EINVAL, "judge answer: more than one [[...]]");
    if (parse_score_text(tag, &v) < 0)
        return as_error_set(AS_EINVAL, "judge answer: [[%s]] is not a number", tag);
    if (!(v >= 1 && v <= 10))
        return as_error_set(AS_EINVAL, "judge answer: rating %g is not in 1..10", v);
    *score = v;
    if ((*rationale = trimmed_copy(answer, (size_t)(at - answer))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

int judge_parse_pair(const char *answer, char *winner, char **rationale)
{
    json_t *j = answer_json(answer);
    char tag[16];
    const char *at = NULL, *w;
    int n;

    *rationale = NULL;
    if (j) {
        const char *r = json_string_value(json_object_get(j, "rationale"));
        w = json_string_value(json_object_get(j, "winner"));
        if (w && strcmp(w, "A") == 0)
            *winner = 'A';
        else if (w && strcmp(w, "B") == 0)
            *winner = 'B';
        else if (w && strcmp(w, "tie") == 0)
            *winner = 'T';
        else {
            json_decref(j);
            return as_error_set(AS_EINVAL, "judge answer: \"winner\" must be \"A\", \"B\" or \"tie\"");
        }
        *rationale = strdup(r ? r : "");
        json_decref(j);
        return *rationale ? 0 : as_error_set(AS_ENOMEM, "out of memory");
    }
    n = find_tag(answer, tag, sizeof(tag), &at);
    if (n == 0)
        return as_error_set(AS_EINVAL, "judge answer: neither JSON nor a [[A]]/[[B]]/[[C]] verdict");
    if (n > 1)
        return as_error_set(AS_EINVAL, "judge answer: more than one [[...]]");
    if (strcmp(tag, "A") == 0)
        *winner = 'A';
    else if (strcmp(tag, "B") == 0)
        *winner = 'B';
    else if (strcmp(tag, "C") == 0)
        *winner = 'T';
    else
        return as_error_set(AS_EINVAL, "judge answer: [[%s]] is not A, B or C", tag);
    if ((*rationale = trimmed_copy(answer, (size_t)(at - answer))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

char judge_combine(char ab, char ba, int *disagree)
{
    /* in the ba order, run b was shown as A */
    char first = ab == 'A' ? 'a' : ab == 'B' ? 'b' : 't';
    char second = ba == 'A' ? 'b' : ba == 'B' ? 'a' : 't';

    *disagree = first != second;
    return first == second ? first : 't';
}
