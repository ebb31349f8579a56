-- The evaluator: models and their prices, runs of a suite against a model,
-- one item per (case, repetition) written as it arrives, every attempt,
-- LLM-judge verdicts and the response cache. Secrets are never stored here:
-- settings only name the environment variables that hold them.

-- A model: a provider, its settings (JSON) and its price. Each change of
-- price bumps price_version, which every run records.
CREATE TABLE models (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    provider      TEXT NOT NULL,
    settings      TEXT NOT NULL,             -- JSON object
    price_in      REAL NOT NULL DEFAULT 0,   -- USD per 1M prompt tokens
    price_out     REAL NOT NULL DEFAULT 0,   -- USD per 1M completion tokens
    price_hour    REAL NOT NULL DEFAULT 0,   -- USD per hour of busy wall time
    price_version INTEGER NOT NULL DEFAULT 1,
    concurrency   INTEGER NOT NULL DEFAULT 4 CHECK (concurrency >= 1),
    rpm           INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0),   -- 0: no limit
    timeout_s     REAL NOT NULL DEFAULT 60 CHECK (timeout_s > 0),
    max_retries   INTEGER NOT NULL DEFAULT 2 CHECK (max_retries >= 0),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- One run: one suite against one model. Everything that produced the
-- results is named: suite, prompt and dataset versions (commits), the
-- model's settings and price table, the assay version.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    suite            TEXT NOT NULL,
    suite_commit     TEXT NOT NULL,
    prompt           TEXT NOT NULL,
    prompt_version   INTEGER NOT NULL,
    prompt_commit    TEXT NOT NULL,
    dataset          TEXT NOT NULL,
    dataset_version  INTEGER NOT NULL,
    dataset_commit   TEXT NOT NULL,
    model            TEXT NOT NULL,
    provider         TEXT NOT NULL,
    model_settings   TEXT NOT NULL,          -- JSON: settings, limits
    metrics          TEXT NOT NULL,          -- JSON: the suite's metric specs
    primary_metric   TEXT NOT NULL,
    labels           TEXT NOT NULL,          -- JSON: the prompt's labels ([] if none)
    judge            TEXT,                   -- JSON: the suite's judge, or NULL
    price_in         REAL NOT NULL,
    price_out        REAL NOT NULL,
    price_hour       REAL NOT NULL,
    price_version    INTEGER NOT NULL,
    assay_version    TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN
                       ('running', 'complete', 'partial', 'failed', 'canceled')),
    case_limit       INTEGER,                -- --limit, or NULL
    repeat           INTEGER NOT NULL DEFAULT 1,
    use_cache        INTEGER NOT NULL DEFAULT 1,
    concurrency      INTEGER NOT NULL,
    items_total      INTEGER NOT NULL DEFAULT 0,
    busy_ms          REAL NOT NULL DEFAULT 0, -- wall time spent running, over every session
    error            TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX runs_suite_model ON runs(suite, model, id);

-- One case (and repetition) of a run. Written as soon as it is answered,
-- so a killed run loses at most the requests in flight.
CREATE TABLE items (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id           TEXT NOT NULL,
    rep               INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    prompt_text       TEXT,                  -- the rendered prompt (for judges and reviews)
    output            TEXT,
    output_truncated  INTEGER NOT NULL DEFAULT 0,
    label             TEXT,                  -- classification: the normalized label
    out_of_labels     INTEGER NOT NULL DEFAULT 0,
    expected          TEXT,
    scores            TEXT,                  -- JSON object metric -> value
    latency_ms        REAL,
    ttft_ms           REAL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    usage_estimated   INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL,                  -- token-priced; hour-priced is attributed in summaries
    busy_ms           REAL,
    cached            INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    finish_reason     TEXT,
    error             TEXT,
    request_hash      TEXT,
    created_at        TEXT NOT NULL,
    UNIQUE (run_id, case_id, rep)
);

-- Every request sent for a run (model or judge), successful or not.
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id     TEXT NOT NULL,
    rep         INTEGER NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL CHECK (kind IN ('model', 'judge')),
    attempt     INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    duration_ms REAL NOT NULL,
    started_at  TEXT NOT NULL
);
CREATE INDEX attempts_run ON attempts(run_id, case_id);

-- LLM-as-judge, single mode: a 1-10 score per item, or an error (an answer
-- that did not parse is an error, never a score).
CREATE TABLE judgments (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id           TEXT NOT NULL,
    rep               INTEGER NOT NULL DEFAULT 0,
    judge_model       TEXT NOT NULL,
    score             REAL,
    rationale         TEXT,
    raw               TEXT,
    error             TEXT,
    latency_ms        REAL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    cost_usd          REAL,
    created_at        TEXT NOT NULL,
    UNIQUE (run_id, case_id, rep, judge_model)
);

-- LLM-as-judge, pairwise mode: two runs' outputs for one case, judged in
-- both orders. Verdicts name the run that won ('a', 'b', 'tie'); when the
-- two orders disagree the winner is 'tie' and disagree is 1.
CREATE TABLE pairwise (
    id           INTEGER PRIMARY KEY,
    run_a        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    run_b        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id      TEXT NOT NULL,
    judge_model  TEXT NOT NULL,
    verdict_ab   TEXT,                       -- a shown first
    verdict_ba   TEXT,                       -- b shown first
    winner       TEXT CHECK (winner IN ('a', 'b', 'tie')),
    disagree     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    cost_usd     REAL,
    latency_ms   REAL,
    created_at   TEXT NOT NULL,
    UNIQUE (run_a, run_b, case_id, judge_model)
);

-- Response cache: key = SHA-256 of (provider, model settings, rendered
-- request, params). A cached answer costs nothing.
CREATE TABLE response_cache (
    key               TEXT PRIMARY KEY,
    output            TEXT NOT NULL,
    output_truncated  INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    usage_estimated   INTEGER NOT NULL DEFAULT 0,
    latency_ms        REAL,
    ttft_ms           REAL,
    finish_reason     TEXT,
    created_at        TEXT NOT NULL
);
