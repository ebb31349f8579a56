-- The evaluator, third part: the cosine_embedding metric, scored by an
-- embedding model after the models answered.

-- One embedding call per item: the output and the expected answer embedded
-- together; the similarity also goes into items.scores under
-- 'cosine_embedding', so summaries, thresholds and rankings see it like any
-- other metric. A failed call keeps its error here (score NULL) and the item
-- has no cosine_embedding score until a resume scores it.
CREATE TABLE embeddings (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id        TEXT NOT NULL,
    rep            INTEGER NOT NULL DEFAULT 0,
    embed_model    TEXT NOT NULL,
    score          REAL,
    dim            INTEGER,
    error          TEXT,
    latency_ms     REAL,
    prompt_tokens  INTEGER,
    cost_usd       REAL,
    cached         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    UNIQUE (run_id, case_id, rep)
);

-- Embedding cache: key = SHA-256 of (provider, model settings, output,
-- expected answer). A cached score costs nothing; runs with --no-cache
-- neither read nor write it.
CREATE TABLE embedding_cache (
    key            TEXT PRIMARY KEY,
    score          REAL NOT NULL,
    dim            INTEGER,
    prompt_tokens  INTEGER,
    created_at     TEXT NOT NULL
);

-- Attempts of embedding calls are recorded like those of models and judges.
CREATE TABLE attempts_new (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    case_id     TEXT NOT NULL,
    rep         INTEGER NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL CHECK (kind IN ('model', 'judge', 'embedding')),
    attempt     INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT,
    duration_ms REAL NOT NULL,
    started_at  TEXT NOT NULL
);
INSERT INTO attempts_new SELECT id, run_id, case_id, rep, kind, attempt, http_status, error,
    duration_ms, started_at FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_run ON attempts(run_id, case_id);
