-- The evaluator, second part: cold starts and server-reported latency per
-- item, and endpoints billed per instance-hour with several instances.

-- The share of latency_ms an item spent waiting for an endpoint scaled to
-- zero to start (SageMaker async): 0 when the call met a running endpoint,
-- NULL when the provider does not tell (every other provider, and async
-- endpoints whose DescribeEndpoint could not be read).
ALTER TABLE items ADD COLUMN cold_start_ms REAL;
-- The latency the server itself reported (Bedrock's metrics.latencyMs), next
-- to latency_ms measured by assay; NULL when the server reports none.
ALTER TABLE items ADD COLUMN server_latency_ms REAL;

-- Instances behind an hour-priced endpoint: cost = busy wall time x
-- price_hour x instance_count. Runs record the count they were priced with.
ALTER TABLE models ADD COLUMN instance_count INTEGER NOT NULL DEFAULT 1
    CHECK (instance_count >= 1);
ALTER TABLE runs ADD COLUMN instance_count INTEGER NOT NULL DEFAULT 1;
