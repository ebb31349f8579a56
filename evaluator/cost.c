/* Cost accounting (cost.h). */
#include "evaluator/cost.h"

double eval_token_cost(const eval_model *m, int64_t prompt_tokens, int64_t completion_tokens)
{
    double in = prompt_tokens > 0 ? (double)prompt_tokens : 0;
    double out = completion_tokens > 0 ? (double)completion_tokens : 0;

    return (in * m->price_in + out * m->price_out) / 1e6;
}

double eval_hour_cost(double price_hour, int64_t instances, double busy_ms)
{
    if (instances < 1)
        instances = 1;
    return busy_ms > 0 ? price_hour * (double)instances * busy_ms / 3.6e6 : 0;
}

double eval_hour_share(double run_cost, double latency_ms, double latency_sum_ms)
{
    if (!(latency_sum_ms > 0) || !(latency_ms > 0))
        return 0;
    return run_cost * latency_ms / latency_sum_ms;
}
