-- The SQLite migration of this number writes job.created from a trigger. PostgreSQL keeps
-- writing those events from the values at hand (JobsMixin._created, COPY for a batch): a
-- per-row trigger there would cost every row of a COPY a PL/pgSQL call. Nothing to change;
-- the number is kept so both dialects list the same versions.
SELECT 1;
