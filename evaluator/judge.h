/* LLM-as-judge (the architecture's "EvalLLM"): the prompts sent to a judge
 * model and the strict parsing of its answers. An answer that does not
 * parse is a judge error, recorded, never a score.
 *
 * Single mode: the judge rates one output 1-10, answering either a JSON
 * object {"score": N, "rationale": "..."} (the whole answer, optionally in
 * one ```json fence) or text ending in exactly one "[[N]]" (MT-bench), the
 * text before it being the rationale.
 * Pairwise mode: the judge compares answers A and B, answering
 * {"winner": "A"|"B"|"tie", "rationale"} or exactly one "[[A]]", "[[B]]"
 * or "[[C]]" (tie). Each pair is judged in both orders; disagreeing orders
 * make a tie. */
#ifndef AS_EVAL_JUDGE_H
#define AS_EVAL_JUDGE_H

#include <jansson.h>

#define JUDGE_DEFAULT_RUBRIC                                                              \
    "Please act as an impartial judge and evaluate the quality of the response "       \
    "provided by an AI assistant to the user question displayed below. Your "          \
    "evaluation should consider factors such as the helpfulness, relevance, accuracy, " \
    "depth, creativity, and level of details of the response. Begin your evaluation "  \
    "by providing a short explanation. Be as objective as possible. After providing "  \
    "your explanation, please rate the response with an overall score on a scale of 1 " \
    "to 10 by strictly following this format: \"[[rating]]\", for example: "           \
    "\"Rating: [[5]]\"."

#define JUDGE_PAIRWISE_RUBRIC                                                             \
    "Please act as an impartial judge and evaluate the quality of the responses "      \
    "provided by two AI assistants to the user question displayed below. Choose the "  \
    "assistant that follows the user's instructions and answers the user's question "  \
    "better, considering helpfulness, relevance, accuracy and level of details. Do "   \
    "not let the order in which the responses were presented, their length or the "    \
    "names of the assistants influence your evaluation. Begin with a short "          \
    "explanation, then output your final verdict by strictly following this format: " \
    "\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and "     \
    "\"[[C]]\" for a tie."

/* The messages ([{"role","content"}], new reference) asking the judge to
 * rate 'output' for 'question'; 'reference' (may be NULL) is shown as the
 * reference answer; 'rubric' NULL means the default. */
json_t *judge_single_messages(const char *rubric, const char *question, const char *output,
                              const char *reference);
/* The same for a pairwise comparison, 'a' shown as assistant A. */
json_t *judge_pair_messages(const char *rubric, const char *question, const char *a,
                            const char *b, const char *reference);

/* Parse a single-mode answer: *score in [1, 10], *rationale (caller frees;
 * may be ""). AS_EINVAL with the reason when it does not parse. */
int judge_parse_single(const char *answer, double *score, char **rationale);
/* Parse a pairwise answer into *winner: 'A', 'B' or 'T' (tie). */
int judge_parse_pair(const char *answer, char *winner, char **rationale);

/* Combine the two orders: 'ab' is the verdict with run a shown as A, 'ba'
 * with run b shown as A. Returns 'a', 'b' or 't' (tie, also when the
 * orders disagree); *disagree is set when they name different winners. */
char judge_combine(char ab, char ba, int *disagree);

#endif
