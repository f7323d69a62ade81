-- The lease a worker's claims get: `jobyard workers` calls a worker gone once its last
-- heartbeat is older than that (its jobs are due for rescue then). NULL for rows written
-- before: the reader's configured lease stands in.
ALTER TABLE workers ADD COLUMN lease REAL;
