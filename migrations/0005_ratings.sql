-- Human-in-the-loop review: rating queues over runs, single ratings,
-- pairwise votes, skips, and promotions of rated outputs into datasets.
-- Items and runs are the evaluator's; they are referenced by id.
CREATE TABLE rating_queues (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('single', 'pairwise')),
    suite           TEXT,
    runs            TEXT NOT NULL,              -- JSON array of run ids
    rate            REAL NOT NULL CHECK (rate > 0 AND rate <= 1),
    seed            INTEGER NOT NULL,
    raters_per_item INTEGER NOT NULL CHECK (raters_per_item >= 1),
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE ratings (
    id         INTEGER PRIMARY KEY,
    queue_id   INTEGER NOT NULL REFERENCES rating_queues(id) ON DELETE CASCADE,
    run_id     INTEGER NOT NULL,
    item_id    INTEGER NOT NULL,
    case_id    TEXT NOT NULL,
    model      TEXT NOT NULL,
    rater_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    score      INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
    feedback   TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (queue_id, item_id, rater_id)
);
CREATE INDEX ratings_item ON ratings(item_id);

-- A pairwise vote: 'first' is the item shown on the left; winner is 'a',
-- 'b' (the queue's fixed sides) or 'tie'.
CREATE TABLE votes (
    id         INTEGER PRIMARY KEY,
    queue_id   INTEGER NOT NULL REFERENCES rating_queues(id) ON DELETE CASCADE,
    case_id    TEXT NOT NULL,
    item_a     INTEGER NOT NULL,
    item_b     INTEGER NOT NULL,
    model_a    TEXT NOT NULL,
    model_b    TEXT NOT NULL,
    shown_first TEXT NOT NULL CHECK (shown_first IN ('a', 'b')),
    winner     TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
    rater_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (queue_id, case_id, rater_id)
);

CREATE TABLE rating_skips (
    queue_id   INTEGER NOT NULL REFERENCES rating_queues(id) ON DELETE CASCADE,
    unit       TEXT NOT NULL,                   -- item id or case id
    rater_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, unit, rater_id)
);

CREATE TABLE promotions (
    id         INTEGER PRIMARY KEY,
    dataset    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('good', 'bad')),
    commit_id  TEXT NOT NULL,
    ratings    TEXT NOT NULL,                   -- JSON array of rating ids
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
