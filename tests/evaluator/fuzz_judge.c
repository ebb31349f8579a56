/* Fuzz target: parsing a judge model's answer (single and pairwise). A
 * parsed score is always within 1..10 and a verdict is A, B or T. */
#include "evaluator/judge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *r = NULL, w = 0;
    double score = 0;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (judge_parse_single(s, &score, &r) == 0 && !(score >= 1 && score <= 10))
        abort();
    free(r);
    r = NULL;
    if (judge_parse_pair(s, &w, &r) == 0 && w != 'A' && w != 'B' && w != 'T')
        abort();
    free(r);
    free(s);
    return 0;
}
