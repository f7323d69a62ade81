-- The SQLite migration of this number writes job.created from a row trigger; PostgreSQL
-- gets a statement-level trigger in 0019 (a row-level one would cost every row of a COPY a
-- PL/pgSQL call). Nothing to change here; the number keeps both dialects' lists alike.
SELECT 1;
