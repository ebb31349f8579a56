-- The catalog index: what the git repository DATA/catalog/ holds, so that
-- lookups need no history walk and results can name exact versions. Every
-- row can be rebuilt from the repository (`assay catalog reindex`); other
-- modules refer to versions by (kind, name, version, commit_id) values, not
-- by foreign keys, because a reindex rewrites these tables.

-- One row: the branch the index follows and the commit it reflects.
CREATE TABLE cat_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    branch    TEXT,              -- "refs/heads/main"
    indexed   TEXT,              -- commit id the index was built at, NULL if none
    seq       INTEGER NOT NULL DEFAULT 0   -- first-parent commits indexed
);
INSERT INTO cat_state (id, branch, indexed, seq) VALUES (1, NULL, NULL, 0);

-- The first-parent history of the branch, oldest first (seq 1 = root).
CREATE TABLE cat_commits (
    seq        INTEGER PRIMARY KEY,
    commit_id  TEXT NOT NULL UNIQUE,
    time       INTEGER NOT NULL,     -- commit time, Unix seconds
    author     TEXT NOT NULL,        -- "Name <email>"
    message    TEXT NOT NULL         -- summary line
);

-- Prompts (kind 0), datasets (1) and suites (2) that ever existed.
CREATE TABLE cat_items (
    kind      INTEGER NOT NULL,
    name      TEXT NOT NULL,
    versions  INTEGER NOT NULL DEFAULT 0,   -- newest version number
    removed   INTEGER NOT NULL DEFAULT 0,   -- 1: file gone at the head
    tags      TEXT NOT NULL DEFAULT '[]',   -- prompts: JSON tags of the newest version
    PRIMARY KEY (kind, name)
);

-- Every change of an item's file along first-parent history: a version
-- (version >= 1, blob_id set) or a removal (version and blob_id NULL).
CREATE TABLE cat_changes (
    id         INTEGER PRIMARY KEY,
    kind       INTEGER NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER,
    seq        INTEGER NOT NULL REFERENCES cat_commits(seq),
    blob_id    TEXT,
    cases      INTEGER NOT NULL DEFAULT 0,  -- datasets: number of cases
    UNIQUE (kind, name, version),
    UNIQUE (kind, name, seq)
);
CREATE INDEX cat_changes_seq ON cat_changes(seq);

-- Labels: mirror of refs/labels/<prompts|datasets|suites>/<name>@<label>.
CREATE TABLE cat_labels (
    kind       INTEGER NOT NULL,
    name       TEXT NOT NULL,
    label      TEXT NOT NULL,
    commit_id  TEXT NOT NULL,
    PRIMARY KEY (kind, name, label)
);
