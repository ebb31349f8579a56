-- Users of the web server and the API, their tokens and browser sessions.
-- Tokens and session ids are never stored: only the SHA-256 (hex) of each.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'rater', 'viewer')),
    created_at TEXT NOT NULL
);

CREATE TABLE user_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);

-- A browser session: the cookie holds a random id, the row its hash, the
-- CSRF token every state-changing request must echo, and an expiry.
CREATE TABLE user_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions(user_id);
