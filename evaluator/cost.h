/* Cost accounting (reference/PROVIDERS.md A4). Token-priced models:
 * prompt_tokens x price_in + completion_tokens x price_out, prices in USD
 * per 1M tokens. Hour-priced models (self-hosted endpoints, GPUs): the busy
 * wall time of the run x price per hour x the instance count, attributed to the items in
 * proportion to their latency. Cached items cost nothing. */
#ifndef AS_EVAL_COST_H
#define AS_EVAL_COST_H

#include <stdint.h>

#include "evaluator/models.h"

/* USD for one call of a token-priced model (unknown counts count 0). */
double eval_token_cost(const eval_model *m, int64_t prompt_tokens, int64_t completion_tokens);
/* USD for 'busy_ms' of an hour-priced model billed for 'instances'
 * instances (each billed for the whole busy time; < 1 counts as 1). */
double eval_hour_cost(double price_hour, int64_t instances, double busy_ms);
/* An item's share of an hour-priced run: run_cost x latency / sum of
 * latencies (0 when the sum is 0). */
double eval_hour_share(double run_cost, double latency_ms, double latency_sum_ms);

#endif
