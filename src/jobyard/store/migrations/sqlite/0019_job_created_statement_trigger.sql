-- The PostgreSQL migration of this number moves its job.created events into a trigger, as
-- SQLite's 0016 did; nothing to change here (the number keeps both dialects' lists alike).
SELECT 1;
