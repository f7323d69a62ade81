CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT 'null',
    source_job INTEGER,
    depth INTEGER NOT NULL DEFAULT 0,
    jobs TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX events_name ON events (name, id);
