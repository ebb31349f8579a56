/* Ranking policies over made-up run summaries: weighted, priority with its
 * tolerance band and bootstrap-interval near-ties, pareto fronts and
 * constraints. */
#include "evaluator/rank.h"
#include "tests/test.h"

static json_t *summary(int id, const char *model, double q, double lo, double hi, double cost,
                       double p50, double p95)
{
    return json_pack("{s:i,s:s,s:s,s:{s:f,s:f,s:f},s:{s:{s:f}},s:f,s:{s:f,s:f,s:f},s:f}", "id", id,
                     "model", model, "primary_metric", "rougeL", "quality", "mean", q, "ci_low", lo,
                     "ci_high", hi, "metrics", "bleu", "mean", q / 2, "cost_per_1k", cost,
                     "latency_ms", "p50", p50, "p95", p95, "p99", p95, "output_tokens_per_s", 50.0);
}

static json_t *fixture(void)
{
    json_t *a = json_array();

    json_array_append_new(a, summary(1, "A", 0.80, 0.75, 0.85, 1.00, 500, 800));
    json_array_append_new(a, summary(2, "B", 0.79, 0.74, 0.84, 0.20, 900, 1500));
    json_array_append_new(a, summary(3, "C", 0.60, 0.55, 0.65, 0.10, 300, 400));
    json_array_append_new(a, summary(4, "D", 0.55, 0.50, 0.60, 0.50, 1000, 3000));
    return a;
}

static const char *model_at(const json_t *r, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(r, "models"), i), "model"));
}

static void rank__weighted_defaults(void)
{
    json_t *s = fixture(), *r = NULL;

    T_OK(eval_rank_summaries(&r, s, "x", NULL, NULL));
    T_EQ_STR(model_at(r, 0), "B");
    T_EQ_STR(model_at(r, 1), "A");
    T_EQ_STR(model_at(r, 2), "C");
    T_EQ_STR(model_at(r, 3), "D");
    /* B: 0.5 x (0.24/0.25) + 0.3 x (0.8/0.9) + 0.2 x (100/700) */
    T_NEAR(json_number_value(json_object_get(json_array_get(json_object_get(r, "models"), 0), "score")),
           0.5 * 0.24 / 0.25 + 0.3 * 0.8 / 0.9 + 0.2 * 100.0 / 700.0, 1e-9);
    T_CHECK(strstr(json_string_value(json_object_get(json_array_get(json_object_get(r, "models"), 0),
                                                     "why")), "score") != NULL);
    json_decref(r);
    T_OK(eval_rank_summaries(&r, s, "x", "weighted:quality=1,cost=0,speed=0", NULL));
    T_EQ_STR(model_at(r, 0), "A");
    json_decref(r);
    json_decref(s);
}

static void rank__priority_cost_first(void)
{
    json_t *s = fixture(), *r = NULL;

    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost,quality,speed", NULL));
    T_EQ_STR(model_at(r, 0), "C");
    T_EQ_STR(model_at(r, 1), "B");
    T_EQ_STR(model_at(r, 2), "D");
    T_EQ_STR(model_at(r, 3), "A");
    json_decref(r);
    json_decref(s);
    /* C costs 0.100, B 0.104 (4% more): apart under the default 2% band,
     * a near-tie under 5%, where quality decides */
    s = json_array();
    json_array_append_new(s, summary(2, "B", 0.79, 0.74, 0.84, 0.104, 900, 1500));
    json_array_append_new(s, summary(3, "C", 0.60, 0.55, 0.65, 0.100, 300, 400));
    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost,quality,speed", NULL));
    T_EQ_STR(model_at(r, 0), "C");
    json_decref(r);
    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost,quality,speed,tolerance=0.05", NULL));
    T_EQ_STR(model_at(r, 0), "B");
    T_EQ_STR(model_at(r, 1), "C");
    T_CHECK(strstr(json_string_value(json_object_get(json_array_get(json_object_get(r, "models"), 0),
                                                     "why")), "near-tie on cost") != NULL);
    json_decref(r);
    /* the same band written with ';' (accepted as well as ',') */
    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost,quality,speed;tolerance=0.05", NULL));
    T_EQ_STR(model_at(r, 0), "B");
    T_EQ_STR(json_string_value(json_object_get(r, "policy")), "priority:cost,quality,speed;tolerance=0.05");
    json_decref(r);
    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost;quality;speed", NULL));
    T_EQ_STR(model_at(r, 0), "C");
    json_decref(r);
    T_ERR(eval_rank_summaries(&r, s, "x", "priority:cost,quality;tolerance=1.5", NULL), AS_EINVAL);
    T_ERR(eval_rank_summaries(&r, s, "x", "priority:cost;;tolerance=0.05", NULL), AS_EINVAL);
    json_decref(s);
}

static void rank__priority_quality_near_tie_falls_through(void)
{
    json_t *s = fixture(), *r = NULL;

    /* A 0.80 and B 0.79 are within 2% (and inside each other's interval):
     * cost decides, B first */
    T_OK(eval_rank_summaries(&r, s, "x", "priority:quality,cost,speed", NULL));
    T_EQ_STR(model_at(r, 0), "B");
    T_EQ_STR(model_at(r, 1), "A");
    T_EQ_STR(model_at(r, 2), "C");
    T_EQ_STR(model_at(r, 3), "D");
    json_decref(r);
    /* with no band and narrow intervals, quality alone decides */
    json_decref(s);
    s = json_array();
    json_array_append_new(s, summary(1, "A", 0.80, 0.799, 0.801, 1.00, 500, 800));
    json_array_append_new(s, summary(2, "B", 0.79, 0.789, 0.791, 0.20, 900, 1500));
    T_OK(eval_rank_summaries(&r, s, "x", "priority:quality,cost,tolerance=0", NULL));
    T_EQ_STR(model_at(r, 0), "A");
    json_decref(r);
    json_decref(s);
}

static void rank__pareto_fronts(void)
{
    json_t *s = fixture(), *r = NULL, *m;
    size_t i;
    int fronts[4] = {0};

    T_OK(eval_rank_summaries(&r, s, "x", "pareto", NULL));
    json_array_foreach(json_object_get(r, "models"), i, m) {
        const char *name = json_string_value(json_object_get(m, "model"));
        fronts[name[0] - 'A'] = (int)json_integer_value(json_object_get(m, "front"));
    }
    T_EQ_INT(fronts[0], 1);
    T_EQ_INT(fronts[1], 1);
    T_EQ_INT(fronts[2], 1);
    T_EQ_INT(fronts[3], 2);     /* C is better, cheaper and faster */
    T_EQ_STR(model_at(r, 0), "A");  /* the front ordered by quality */
    T_EQ_STR(model_at(r, 3), "D");
    T_CHECK(strstr(json_string_value(json_object_get(json_array_get(json_object_get(r, "models"), 3),
                                                     "why")), "dominated by B, C") != NULL);
    json_decref(r);
    json_decref(s);
}

static void rank__constraints_exclude(void)
{
    json_t *s = fixture(), *r = NULL;

    T_OK(eval_rank_summaries(&r, s, "x", "priority:cost,quality", "quality>=0.7,p95_ms<=1000"));
    T_EQ_INT(json_array_size(json_object_get(r, "models")), 1);
    T_EQ_STR(model_at(r, 0), "A");
    T_EQ_INT(json_array_size(json_object_get(r, "excluded")), 3);
    json_decref(r);
    T_OK(eval_rank_summaries(&r, s, "x", "pareto", "bleu>0.35"));
    T_EQ_INT(json_array_size(json_object_get(r, "models")), 2);
    json_decref(r);
    T_ERR(eval_rank_summaries(&r, s, "x", "priority:cost,cost", NULL), AS_EINVAL);
    T_ERR(eval_rank_summaries(&r, s, "x", "weighted:quality=-1", NULL), AS_EINVAL);
    T_ERR(eval_rank_summaries(&r, s, "x", "fastest", NULL), AS_EINVAL);
    T_ERR(eval_rank_summaries(&r, s, "x", NULL, "quality=0.8"), AS_EINVAL);
    /* a name that is not UTF-8 is refused, not a model silently lost */
    T_ERR(eval_rank_summaries(&r, s, "x", NULL, "bleu>0.3,tok\xFF\x9B>=1"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "not valid UTF-8") != NULL);
    T_OK(eval_rank_summaries(&r, s, "x", NULL, "d\xC3\xA9" "bit>=1"));
    T_EQ_INT(json_array_size(json_object_get(r, "excluded")), 4);
    json_decref(r);
    r = NULL;
    T_CHECK(r == NULL);
    json_decref(s);
}

int main(void)
{
    T_RUN(rank__weighted_defaults);
    T_RUN(rank__priority_cost_first);
    T_RUN(rank__priority_quality_near_tie_falls_through);
    T_RUN(rank__pareto_fronts);
    T_RUN(rank__constraints_exclude);
    return t_done();
}
