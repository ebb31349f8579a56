/* A byte trie of added-token strings. Matching is leftmost-longest, like the
 * aho-corasick automaton of HF AddedVocabulary: the caller tries each
 * position in turn and takes the longest token that starts there. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "evaluator/engine/tokenizer_int.h"

static int32_t new_node(tok_trie *tr, unsigned char byte)
{
    if (tr->count == tr->cap) {
        size_t cap = tr->cap ? tr->cap * 2 : 64;
        tok_trie_node *n = realloc(tr->nodes, cap * sizeof *n);
        if (!n)
            return -1;
        tr->nodes = n;
        tr->cap = cap;
    }
    tok_trie_node *n = &tr->nodes[tr->count];
    n->first_child = n->next_sibling = n->token = -1;
    n->byte = byte;
    return (int32_t)tr->count++;
}

int tok_trie_add(tok_trie *tr, const char *s, size_t len, int32_t token)
{
    if (len == 0)
        return 0;
    if (tr->count == 0) {
        memset(tr->root_next, 0xFF, sizeof tr->root_next);
        if (new_node(tr, 0) < 0)
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    }
    const unsigned char *p = (const unsigned char *)s;
    int32_t cur = tr->root_next[p[0]];
    if (cur < 0) {
        if ((cur = new_node(tr, p[0])) < 0)
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        tr->root_next[p[0]] = cur;
    }
    for (size_t i = 1; i < len; i++) {
        int32_t c = tr->nodes[cur].first_child;
        while (c >= 0 && tr->nodes[c].byte != p[i])
            c = tr->nodes[c].next_sibling;
        if (c < 0) {
            if ((c = new_node(tr, p[i])) < 0)
                return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
            tr->nodes[c].next_sibling = tr->nodes[cur].first_child;
            tr->nodes[cur].first_child = c;
        }
        cur = c;
    }
    tr->nodes[cur].token = token; /* a later duplicate wins */
    return 0;
}

int32_t tok_trie_longest(const tok_trie *tr, const unsigned char *s, size_t len, size_t *mlen)
{
    if (tr->count == 0 || len == 0)
        return -1;
    int32_t cur = tr->root_next[s[0]], best = -1;
    size_t i = 1;
    while (cur >= 0) {
        if (tr->nodes[cur].token >= 0) {
            best = tr->nodes[cur].token;
            *mlen = i;
        }
        if (i == len)
            break;
        int32_t c = tr->nodes[cur].first_child;
        while (c >= 0 && tr->nodes[c].byte != s[i])
            c = tr->nodes[c].next_sibling;
        cur = c;
        i++;
    }
    return best;
}

void tok_trie_free(tok_trie *tr)
{
    free(tr->nodes);
    tr->nodes = NULL;
    tr->count = tr->cap = 0;
}
