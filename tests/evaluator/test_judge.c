/* LLM-judge answer parsing: strict formats, unparseable answers are
 * errors, never scores; pairwise order combination. */
#include "evaluator/judge.h"
#include "tests/test.h"

#include <stdlib.h>

static void judge__single_mtbench_tag(void)
{
    double s = 0;
    char *r = NULL;

    T_OK(judge_parse_single("The answer is accurate and detailed.\nRating: [[8]]", &s, &r));
    T_NEAR(s, 8, 0);
    T_EQ_STR(r, "The answer is accurate and detailed.\nRating:");
    free(r);
    T_OK(judge_parse_single("[[7.5]]", &s, &r));
    T_NEAR(s, 7.5, 0);
    free(r);
}

static void judge__single_json(void)
{
    double s = 0;
    char *r = NULL;

    T_OK(judge_parse_single("{\"score\": 3, \"rationale\": \"misses the point\"}", &s, &r));
    T_NEAR(s, 3, 0);
    T_EQ_STR(r, "misses the point");
    free(r);
    T_OK(judge_parse_single("```json\n{\"score\": \"10\"}\n```", &s, &r));
    T_NEAR(s, 10, 0);
    free(r);
}

static void judge__single_unparseable_is_error(void)
{
    double s = -1;
    char *r = NULL;

    T_ERR(judge_parse_single("I would rate it 8 out of 10.", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("Rating: [[11]]", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("Rating: [[0]]", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("[[8]] or maybe [[6]]", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("[[eight]]", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("{\"rating\": 8}", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("{\"score\": 8", &s, &r), AS_EINVAL);
    T_ERR(judge_parse_single("", &s, &r), AS_EINVAL);
    T_NEAR(s, -1, 0);
    T_CHECK(r == NULL);
}

static void judge__pair_verdicts(void)
{
    char w = 0, *r = NULL;

    T_OK(judge_parse_pair("A is more complete. [[A]]", &w, &r));
    T_EQ_INT(w, 'A');
    free(r);
    T_OK(judge_parse_pair("[[C]]", &w, &r));
    T_EQ_INT(w, 'T');
    free(r);
    T_OK(judge_parse_pair("{\"winner\": \"B\", \"rationale\": \"shorter\"}", &w, &r));
    T_EQ_INT(w, 'B');
    T_EQ_STR(r, "shorter");
    free(r);
    T_ERR(judge_parse_pair("Assistant A wins.", &w, &r), AS_EINVAL);
    T_ERR(judge_parse_pair("[[D]]", &w, &r), AS_EINVAL);
    T_ERR(judge_parse_pair("[[A]] [[B]]", &w, &r), AS_EINVAL);
    T_ERR(judge_parse_pair("{\"winner\": \"a\"}", &w, &r), AS_EINVAL);
}

static void judge__both_orders(void)
{
    int dis = 0;

    /* a shown first wins, then a (shown second as B) wins: a */
    T_EQ_INT(judge_combine('A', 'B', &dis), 'a');
    T_EQ_INT(dis, 0);
    T_EQ_INT(judge_combine('B', 'A', &dis), 'b');
    T_EQ_INT(dis, 0);
    /* position bias: the first shown always wins -> disagreement, tie */
    T_EQ_INT(judge_combine('A', 'A', &dis), 't');
    T_EQ_INT(dis, 1);
    T_EQ_INT(judge_combine('T', 'T', &dis), 't');
    T_EQ_INT(dis, 0);
    T_EQ_INT(judge_combine('A', 'T', &dis), 't');
    T_EQ_INT(dis, 1);
}

static void judge__prompts_carry_question_and_reference(void)
{
    json_t *m = judge_single_messages(NULL, "What is 2+2?", "4", "four");
    const char *u = json_string_value(json_object_get(json_array_get(m, 1), "content"));
    const char *sys = json_string_value(json_object_get(json_array_get(m, 0), "content"));

    T_CHECK(strstr(u, "What is 2+2?") != NULL);
    T_CHECK(strstr(u, "Reference Answer]\nfour") != NULL);
    T_CHECK(strstr(sys, "helpfulness, relevance, accuracy") != NULL);
    json_decref(m);
    m = judge_pair_messages("Be strict.", "Q", "first", "second", NULL);
    u = json_string_value(json_object_get(json_array_get(m, 1), "content"));
    T_CHECK(strstr(u, "Assistant A's Answer]\nfirst") != NULL);
    T_CHECK(strstr(u, "Assistant B's Answer]\nsecond") != NULL);
    T_CHECK(strstr(u, "Reference") == NULL);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(m, 0), "content")), "Be strict.");
    json_decref(m);
}

int main(void)
{
    T_RUN(judge__single_mtbench_tag);
    T_RUN(judge__single_json);
    T_RUN(judge__single_unparseable_is_error);
    T_RUN(judge__pair_verdicts);
    T_RUN(judge__both_orders);
    T_RUN(judge__prompts_carry_question_and_reference);
    return t_done();
}
