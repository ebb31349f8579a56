/* Classification label normalization (score.h): models answer "Positive.",
 * "**negative**" or "The sentiment is positive"; the item's label is the
 * one class of the prompt's label set that the answer names, or none. */
#include "evaluator/score.h"
#include "common/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trim white space, quotes, markup and final punctuation. */
static void trim(const char **s, size_t *n)
{
    static const char junk[] = " \t\r\n\"'`*_.,;:!?()[]{}<>";

    while (*n > 0 && strchr(junk, (*s)[0]) && (*s)[0] != '\0') {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && strchr(junk, (*s)[*n - 1]) && (*s)[*n - 1] != '\0')
        (*n)--;
}

static int word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* 1 when 'label' occurs in s[0..n) as a whole word, case-insensitively. */
static int has_word(const char *s, size_t n, const char *label)
{
    size_t ln = strlen(label), i;

    if (ln == 0 || ln > n)
        return 0;
    for (i = 0; i + ln <= n; i++) {
        if (strncasecmp(s + i, label, ln) != 0)
            continue;
        if ((i == 0 || !word_char((unsigned char)s[i - 1])) &&
            (i + ln == n || !word_char((unsigned char)s[i + ln])))
            return 1;
    }
    return 0;
}

/* The one label named in s[0..n): exact first, then as a word. */
static const char *match(const json_t *labels, const char *s, size_t n)
{
    const char *found = NULL;
    size_t i;
    json_t *l;
    int count = 0;

    trim(&s, &n);
    json_array_foreach(labels, i, l) {
        const char *t = json_string_value(l);
        if (t && strlen(t) == n && strncasecmp(t, s, n) == 0)
            return t;
    }
    json_array_foreach(labels, i, l) {
        const char *t = json_string_value(l);
        if (t && has_word(s, n, t)) {
            /* a label inside a longer matching label ("positive" in
             * "very positive") does not count twice */
            if (found && (has_word(t, strlen(t), found) || has_word(found, strlen(found), t))) {
                if (strlen(t) > strlen(found))
                    found = t;
                continue;
            }
            found = t;
            count++;
        }
    }
    return count == 1 ? found : NULL;
}

int eval_label_normalize(char **out, const json_t *labels, const char *output)
{
    const char *nl = strchr(output, '\n'), *hit = NULL;

    *out = NULL;
    if (nl)
        hit = match(labels, output, (size_t)(nl - output));
    if (hit == NULL)
        hit = match(labels, output, strlen(output));
    if (hit && (*out = strdup(hit)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}
