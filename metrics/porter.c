/* NLTK's Porter stemmer in its default NLTK_EXTENSIONS mode, the one
 * rouge_score uses (nltk/stem/porter.py, NLTK 3.8); see text.h. The word is
 * edited in place in a buffer: every rule only shortens it or replaces a
 * suffix by one no longer than the removed part plus one letter that was
 * removed before, so len+1 bytes always suffice. Digits are consonants. */
#include "metrics/text.h"

#include <string.h>

typedef struct word {
    char *w;
    size_t n;
} word;

static int is_cons(const char *w, size_t i)
{
    switch (w[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u':
        return 0;
    case 'y':
        return i == 0 ? 1 : !is_cons(w, i - 1);
    default:
        return 1;
    }
}

/* The number of "vc" pairs in the consonant/vowel pattern of w[0..n). */
static int measure(const char *w, size_t n)
{
    int m = 0, prev_v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        int c = is_cons(w, i);
        if (c && prev_v)
            m++;
        prev_v = !c;
    }
    return m;
}

static int has_vowel(const char *w, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_cons(w, i))
            return 1;
    return 0;
}

static int ends_double(const char *w, size_t n)
{
    return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1);
}

static int ends_cvc(const char *w, size_t n)
{
    if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) && is_cons(w, n - 1) &&
        w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y')
        return 1;
    return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static int ends(const word *x, const char *suf, size_t k)
{
    return x->n >= k && memcmp(x->w + x->n - k, suf, k) == 0;
}

static void replace(word *x, size_t k, const char *rep)
{
    size_t r = strlen(rep);

    x->n -= k;
    memcpy(x->w + x->n, rep, r);
    x->n += r;
}

enum cond { C_NONE, C_M0, C_M1, C_ION, C_LOGI };

typedef struct rule {
    const char *suf;
    const char *rep;
    enum cond cond;
} rule;

static int cond_holds(const word *x, size_t stem_len, enum cond c)
{
    switch (c) {
    case C_NONE:
        return 1;
    case C_M0:
        return measure(x->w, stem_len) > 0;
    case C_M1:
        return measure(x->w, stem_len) > 1;
    case C_ION:
        return measure(x->w, stem_len) > 1 && stem_len > 0 &&
               (x->w[stem_len - 1] == 's' || x->w[stem_len - 1] == 't');
    case C_LOGI:
        return measure(x->w, stem_len + 1) > 0;     /* the stem plus its 'l' */
    }
    return 0;
}

/* _apply_rule_list: the first rule whose suffix matches decides. */
static void apply_rules(word *x, const rule *rules, size_t nrules)
{
    size_t i;

    for (i = 0; i < nrules; i++) {
        size_t k = strlen(rules[i].suf);
        if (ends(x, rules[i].suf, k)) {
            if (cond_holds(x, x->n - k, rules[i].cond))
                replace(x, k, rules[i].rep);
            return;
        }
    }
}

static void step1a(word *x)
{
    static const rule rules[] = {
        {"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE},
    };

    if (x->n == 4 && ends(x, "ies", 3)) {
        replace(x, 3, "ie");
        return;
    }
    apply_rules(x, rules, sizeof(rules) / sizeof(rules[0]));
}

static void step1b(word *x)
{
    size_t k = 0;

    if (ends(x, "ied", 3)) {
        replace(x, 3, x->n == 4 ? "ie" : "i");
        return;
    }
    if (ends(x, "eed", 3)) {
        if (measure(x->w, x->n - 3) > 0)
            replace(x, 3, "ee");
        return;
    }
    if (ends(x, "ed", 2) && has_vowel(x->w, x->n - 2))
        k = 2;
    else if (ends(x, "ing", 3) && has_vowel(x->w, x->n - 3))
        k = 3;
    if (k == 0)
        return;
    x->n -= k;
    if (ends(x, "at", 2) || ends(x, "bl", 2) || ends(x, "iz", 2)) {
        x->w[x->n++] = 'e';
    } else if (ends_double(x->w, x->n)) {
        char last = x->w[x->n - 1];
        if (last != 'l' && last != 's' && last != 'z')
            x->n--;
    } else if (measure(x->w, x->n) == 1 && ends_cvc(x->w, x->n)) {
        x->w[x->n++] = 'e';
    }
}

static void step1c(word *x)
{
    if (ends(x, "y", 1) && x->n - 1 > 1 && is_cons(x->w, x->n - 2))
        x->w[x->n - 1] = 'i';
}

static void step2(word *x)
{
    static const rule rules[] = {
        {"ational", "ate", C_M0}, {"tional", "tion", C_M0}, {"enci", "ence", C_M0},
        {"anci", "ance", C_M0},   {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
        {"alli", "al", C_M0},     {"entli", "ent", C_M0},   {"eli", "e", C_M0},
        {"ousli", "ous", C_M0},   {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
        {"ator", "ate", C_M0},    {"alism", "al", C_M0},    {"iveness", "ive", C_M0},
        {"fulness", "ful", C_M0}, {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
        {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},  {"fulli", "ful", C_M0},
        {"logi", "log", C_LOGI},
    };

    while (ends(x, "alli", 4) && measure(x->w, x->n - 4) > 0)
        replace(x, 4, "al");
    apply_rules(x, rules, sizeof(rules) / sizeof(rules[0]));
}

static void step3(word *x)
{
    static const rule rules[] = {
        {"icate", "ic", C_M0}, {"ative", "", C_M0}, {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
        {"ical", "ic", C_M0},  {"ful", "", C_M0},   {"ness", "", C_M0},
    };

    apply_rules(x, rules, sizeof(rules) / sizeof(rules[0]));
}

static void step4(word *x)
{
    static const rule rules[] = {
        {"al", "", C_M1},    {"ance", "", C_M1}, {"ence", "", C_M1}, {"er", "", C_M1},
        {"ic", "", C_M1},    {"able", "", C_M1}, {"ible", "", C_M1}, {"ant", "", C_M1},
        {"ement", "", C_M1}, {"ment", "", C_M1}, {"ent", "", C_M1},  {"ion", "", C_ION},
        {"ou", "", C_M1},    {"ism", "", C_M1},  {"ate", "", C_M1},  {"iti", "", C_M1},
        {"ous", "", C_M1},   {"ive", "", C_M1},  {"ize", "", C_M1},
    };

    apply_rules(x, rules, sizeof(rules) / sizeof(rules[0]));
}

static void step5(word *x)
{
    if (ends(x, "e", 1)) {
        int m = measure(x->w, x->n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(x->w, x->n - 1)))
            x->n--;
    }
    if (ends(x, "ll", 2) && measure(x->w, x->n - 1) > 1)
        x->n--;
}

static const struct {
    const char *from, *to;
} irregular[] = {
    {"skies", "sky"},     {"sky", "sky"},         {"dying", "die"},       {"lying", "lie"},
    {"tying", "tie"},     {"news", "news"},       {"innings", "inning"},  {"inning", "inning"},
    {"outings", "outing"}, {"outing", "outing"}, {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},     {"proceed", "proceed"}, {"exceed", "exceed"},   {"succeed", "succeed"},
};

size_t met_porter_stem(const char *w, size_t len, char *out)
{
    word x;
    size_t i;

    for (i = 0; i < sizeof(irregular) / sizeof(irregular[0]); i++) {
        size_t k = strlen(irregular[i].from);
        if (k == len && memcmp(w, irregular[i].from, k) == 0) {
            k = strlen(irregular[i].to);
            memcpy(out, irregular[i].to, k + 1);
            return k;
        }
    }
    memmove(out, w, len);
    out[len] = '\0';
    if (len <= 2)
        return len;
    x.w = out;
    x.n = len;
    step1a(&x);
    step1b(&x);
    step1c(&x);
    step2(&x);
    step3(&x);
    step4(&x);
    step5(&x);
    out[x.n] = '\0';
    return x.n;
}
