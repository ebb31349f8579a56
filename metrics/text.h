/* Text primitives shared by the metrics: the rouge_score tokenizer, NLTK's
 * Porter stemmer, Python's str.lower() and the Unicode properties that
 * Python's str.split(), \w and the `regex` module's \p{P}, \p{S}, \p{N} use.
 * Pure functions over memory; no I/O, no locale. */
#ifndef MET_TEXT_H
#define MET_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* A list of tokens stored back to back, each NUL-terminated. */
typedef struct met_toks {
    char *text;         /* token bytes; token i starts at text + start[i] */
    size_t len, cap;
    size_t *start;
    size_t n, ncap;
} met_toks;

void met_toks_init(met_toks *t);
void met_toks_reset(met_toks *t);          /* empty, keeping the memory */
void met_toks_free(met_toks *t);
int met_toks_push(met_toks *t, const char *tok, size_t len);
static inline const char *met_toks_at(const met_toks *t, size_t i)
{
    return t->text + t->start[i];
}

/* Scan the next rouge_score token of s[0..len) from *pos: the maximal runs
 * of [a-z0-9] after lower-casing A-Z, U+212A (KELVIN SIGN -> "k") and U+0130
 * ("i" then a separator); every other code point and every invalid byte
 * separates. Returns the token's length (0 when there is none left) and
 * writes at most 'cap' bytes of it to 'out'; a longer token is reported with
 * its full length so the caller can grow and rescan from 'start'. */
size_t met_rouge_next_token(const char *s, size_t len, size_t *pos, size_t *start, char *out,
                            size_t cap);

/* Tokenize like rouge_score's DefaultTokenizer into 'out' (reset first);
 * with 'stem', tokens longer than 3 characters go through the Porter
 * stemmer. Returns 0 or AS_ENOMEM. */
int met_rouge_tokenize(met_toks *out, const char *s, size_t len, int stem);

/* NLTK's PorterStemmer().stem() (NLTK_EXTENSIONS mode) on a lower-case
 * ASCII word w[0..len). Writes the stem to 'out' (room for len+1 bytes,
 * NUL-terminated) and returns its length; a stem is never longer than the
 * word. */
size_t met_porter_stem(const char *w, size_t len, char *out);

/* Python's str.lower() on UTF-8 text (full Unicode mapping, U+0130 -> "i̇",
 * final sigma context), appended to *out (growing it with realloc, capacity
 * in *cap, length in *olen). Invalid bytes are copied unchanged. Returns 0
 * or AS_ENOMEM. */
int met_lower_utf8(const char *s, size_t len, char **out, size_t *olen, size_t *cap);

/* Simple lower-case mapping of one code point (Python's, first code point of
 * the full mapping). */
uint32_t met_lower_cp(uint32_t cp);

/* Unicode properties (Python 3.11, Unicode 14). */
int met_is_space(uint32_t cp);    /* Python str.isspace(): what split() splits on */
int met_is_word(uint32_t cp);     /* Python re's \w for str patterns */
int met_is_punct(uint32_t cp);    /* general category P* */
int met_is_symbol(uint32_t cp);   /* general category S* */
int met_is_number(uint32_t cp);   /* general category N* */

/* Decode one code point at s[*i] (advancing *i); an invalid byte decodes as
 * itself with 'bad' set, so callers can copy it through. */
uint32_t met_utf8_next(const char *s, size_t len, size_t *i, int *bad);

#endif
