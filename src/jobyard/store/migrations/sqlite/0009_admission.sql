-- Mutex script types are a limit of 1 that the claim's admission step enforces
-- (jobyard.admission, Store.claim_admitted): the running jobs are the lock, so the lock
-- rows of 0006 have nothing left to say.
DROP TABLE IF EXISTS type_locks;
