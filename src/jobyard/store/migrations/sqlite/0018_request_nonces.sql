-- Signed requests seen (Slack's v0 signatures, jobyard.slack.signature): a captured
-- request sent again inside its five-minute window is refused by every web process of
-- the server, not only by the one that saw it first. Rows older than the window are
-- pruned as new ones come.
CREATE TABLE request_nonces (
    nonce TEXT PRIMARY KEY,
    seen REAL NOT NULL
);
CREATE INDEX request_nonces_seen ON request_nonces (seen);
