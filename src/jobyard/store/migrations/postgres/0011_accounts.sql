-- Accounts (docs/auth.md): users with argon2id password hashes, API tokens and browser
-- sessions stored only as SHA-256 hashes of their random secret, one-time setup links,
-- login failures for rate limiting (kept in the store so that every server process of
-- one database counts the same failures), and the audit log of who did what.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION,
    revoked DOUBLE PRECISION,
    last_used DOUBLE PRECISION
);

CREATE TABLE sessions (
    id BIGSERIAL PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE setup_links (
    hash TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    used DOUBLE PRECISION
);

CREATE TABLE login_failures (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, time);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    time DOUBLE PRECISION NOT NULL,
    actor TEXT,
    role TEXT,
    via TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT,
    outcome TEXT NOT NULL,
    detail JSON NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
