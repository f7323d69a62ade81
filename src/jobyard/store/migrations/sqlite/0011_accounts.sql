-- Accounts (docs/auth.md): users with argon2id password hashes, API tokens and browser
-- sessions stored only as SHA-256 hashes of their random secret, one-time setup links,
-- login failures for rate limiting (kept in the store so that every server process of
-- one database counts the same failures), and the audit log of who did what.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    revoked REAL,
    last_used REAL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE setup_links (
    hash TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    used REAL
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, time);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    actor TEXT,
    role TEXT,
    via TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
