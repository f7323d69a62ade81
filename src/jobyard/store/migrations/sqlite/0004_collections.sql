-- Item collections (Sooner's "queues"): named lists of {id, status, data, created, updated}.
CREATE TABLE collection_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT 'null',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX collection_items_status ON collection_items (collection, status, id);
CREATE INDEX collection_items_created ON collection_items (collection, created, id);
CREATE INDEX collection_items_updated ON collection_items (collection, updated, id);
