-- Named queries for PostgreSQL. Every dialect file defines the same names.
-- Parameters use %(name)s; list parameters are Python lists read with = ANY(%(name)s).
-- A plain string parameter reaches the server untyped, so it is cast where the context
-- leaves its type open. JSON parameters arrive either as JSON text (job data, encoded by
-- the Yard) or as psycopg Json values (everything encoded by PostgresStore.encode_json);
-- both are stored verbatim in `json` columns.

-- name: insert_job
-- Bulk inserts reuse this column list for COPY (PostgresStore.insert_jobs): keep it one
-- plain INSERT ... VALUES with one parameter per column.
INSERT INTO jobs (type, queue, status, priority, data, props, progress_total, retries,
    retry_limit, retry_wait, retry_backoff, retry_until, repeats, repeated, repeat_wait,
    repeat_schedule, repeat_timezone, repeat_until, after, depends, pending, jobset, site,
    timeout, created, updated, semaphores, gated)
VALUES (%(type)s, %(queue)s, %(status)s, %(priority)s, %(data)s::json, %(props)s::json,
    %(progress_total)s, %(retries)s, %(retry_limit)s, %(retry_wait)s, %(retry_backoff)s,
    %(retry_until)s, %(repeats)s, %(repeated)s, %(repeat_wait)s, %(repeat_schedule)s,
    %(repeat_timezone)s, %(repeat_until)s, %(after)s, %(depends)s::json, %(pending)s,
    %(jobset)s, %(site)s, %(timeout)s, %(created)s, %(updated)s, %(semaphores)s::json,
    %(gated)s)
RETURNING id

-- name: insert_jobs_shared
-- A bulk enqueue of one spec: every row alike but for its data (%(datas)s, the data
-- texts), in their order (ids come from the identity in the order the rows are inserted).
-- A bigger batch goes through COPY instead (PostgresStore._insert_shared).
INSERT INTO jobs (type, queue, status, priority, data, props, progress_total, retries,
    retry_limit, retry_wait, retry_backoff, retry_until, repeats, repeated, repeat_wait,
    repeat_schedule, repeat_timezone, repeat_until, after, depends, pending, jobset, site,
    timeout, created, updated, semaphores, gated)
SELECT %(type)s::text, %(queue)s::text, %(status)s::text, %(priority)s::int, d.data::json,
    %(props)s::json, %(progress_total)s::float8, %(retries)s::int, %(retry_limit)s::int,
    %(retry_wait)s::float8, %(retry_backoff)s::text, %(retry_until)s::float8,
    %(repeats)s::int, %(repeated)s::int, %(repeat_wait)s::float8,
    %(repeat_schedule)s::text, %(repeat_timezone)s::text, %(repeat_until)s::float8,
    %(after)s::float8, %(depends)s::json, %(pending)s::int, %(jobset)s::bigint,
    %(site)s::text, %(timeout)s::float8, %(created)s::float8, %(updated)s::float8,
    %(semaphores)s::json, %(gated)s::int
FROM unnest(%(datas)s::text[]) WITH ORDINALITY AS d (data, n) ORDER BY d.n
RETURNING id

-- name: next_job_id
SELECT coalesce(max(id), 0) + 1 FROM jobs

-- name: insert_dep
INSERT INTO job_deps (job_id, dep_id) VALUES (%(job_id)s, %(dep_id)s) ON CONFLICT DO NOTHING

-- name: mark_has_dependents
UPDATE jobs SET has_dependents = 1 WHERE id = ANY(%(ids)s) AND has_dependents = 0

-- name: insert_log
INSERT INTO job_logs (job_id, time, run_id, level, message, data)
VALUES (%(job_id)s, %(time)s, %(run_id)s, %(level)s, %(message)s, %(data)s::json)

-- name: insert_log_event
-- job.log: one summary per job and batch of entries (docs/events.md), not one per line.
INSERT INTO job_events (time, name, job_id, type, queue, status, data)
SELECT %(time)s, 'job.log', id, type, queue, status, %(data)s::json FROM jobs WHERE id = %(job_id)s

-- name: get_log
SELECT time, run_id, level, message, data FROM job_logs WHERE job_id = %(job_id)s ORDER BY id

-- name: get_jobs
-- Inside a transaction PostgresStore appends a row lock (see LOCK_ROWS there).
SELECT * FROM jobs WHERE id = ANY(%(ids)s) ORDER BY id

-- name: claim
-- Per queue, walk the jobs_ready index in claim order and lock the first free rows
-- (SKIP LOCKED: concurrent claimers neither wait for each other nor take the same job);
-- then keep the best across queues. No sort of the whole backlog, however long it is.
WITH picked AS (
    SELECT c.id FROM (SELECT DISTINCT unnest(%(queues)s::text[]) AS name) q
    CROSS JOIN LATERAL (
        SELECT id, priority, after FROM jobs
        WHERE status = 'ready' AND queue = q.name AND after <= %(now)s
          AND (%(any_type)s OR type = ANY(%(types)s::text[])) AND gated = 0
        ORDER BY priority, after, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED) c
    ORDER BY c.priority, c.after, c.id
    LIMIT %(limit)s),
claimed AS (
    UPDATE jobs j
    SET status = 'running', worker = %(worker)s, run_id = %(run_id)s::text || '.' || j.id,
        attempts = j.attempts + 1, started = %(now)s, updated = %(now)s,
        lease_expires = %(lease_expires)s
    FROM picked WHERE j.id = picked.id
    RETURNING j.*)
SELECT * FROM claimed ORDER BY priority, after, id

-- name: claim_candidates
-- One queue's first ready jobs in claim order (SQLite's claim merges these per queue;
-- PostgreSQL's claim above does it in one statement).
SELECT priority, after, id AS sort_id, id FROM jobs
WHERE status = 'ready' AND queue = %(queue)s AND after <= %(now)s
  AND (%(any_type)s OR type = ANY(%(types)s::text[])) AND gated = 0
ORDER BY priority, after, id
LIMIT %(limit)s

-- name: claim_ids
UPDATE jobs
SET status = 'running', worker = %(worker)s, run_id = %(run_id)s::text || '.' || id,
    attempts = attempts + 1, started = %(now)s, updated = %(now)s,
    lease_expires = %(lease_expires)s
WHERE id = ANY(%(ids)s) AND status = 'ready'
RETURNING *

-- The claim with admission (jobyard.admission; Store.claim_admitted): a transaction-level
-- advisory lock per limited key (taken in sorted order), the running count per limited type,
-- candidates of one queue locked as the claim above locks them, then claim_ids above.

-- name: lock_limit
SELECT pg_advisory_xact_lock(%(key)s)

-- name: admit_candidates
SELECT priority, after, id, type, queue FROM jobs
WHERE status = 'ready' AND queue = %(queue)s AND after <= %(now)s
  AND (%(any_type)s OR type = ANY(%(types)s::text[]))
  AND NOT (type = ANY(%(exclude)s::text[])) AND gated = 0
ORDER BY priority, after, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED

-- name: admit_gated
-- One queue's gated candidates after a cursor, leaving out those that name a blocked
-- need (a global semaphore with no room at all).
SELECT priority, after, id, type, queue, jobset, site, semaphores FROM jobs
WHERE status = 'ready' AND gated = 1 AND queue = %(queue)s AND after <= %(now)s
  AND (%(any_type)s OR type = ANY(%(types)s::text[]))
  AND (%(first)s OR priority > %(p)s
       OR (priority = %(p)s AND (after > %(a)s OR (after = %(a)s AND id > %(i)s))))
  AND NOT EXISTS (SELECT 1 FROM json_array_elements_text(jobs.semaphores) n(v)
                  WHERE n.v = ANY(%(blocked)s::text[]))
ORDER BY priority, after, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED

-- name: running_gated
SELECT id, type, jobset, site, semaphores FROM jobs WHERE status = 'running' AND gated = 1

-- name: running_total
SELECT count(*), max(id) FROM jobs WHERE status = 'running'

-- name: ready_gated
SELECT * FROM jobs WHERE status = 'ready' AND gated = 1
ORDER BY priority, after, id LIMIT %(limit)s

-- name: semaphore_upsert
INSERT INTO semaphores (name, count, scope, holder, updated)
VALUES (%(name)s, %(count)s, %(scope)s, %(holder)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET count = EXCLUDED.count, scope = EXCLUDED.scope,
    holder = EXCLUDED.holder, updated = EXCLUDED.updated

-- name: semaphores_all
SELECT name, count, scope, holder FROM semaphores ORDER BY name

-- Call holds (jobyard.callholds, migration 0021): a row counts only while its job runs
-- under its run id.

-- name: hold_run
SELECT jobset FROM jobs WHERE id = %(id)s AND run_id = %(run_id)s AND status = 'running'

-- name: holds_live
SELECT h.token, h.job_id, h.name, h.mode, h.granted, h.since, j.jobset
FROM semaphore_holds h JOIN jobs j ON j.id = h.job_id
WHERE j.status = 'running' AND j.run_id = h.run_id
ORDER BY h.since, h.token

-- name: holds_prune
DELETE FROM semaphore_holds h WHERE NOT EXISTS (
    SELECT 1 FROM jobs j WHERE j.id = h.job_id AND j.status = 'running'
      AND j.run_id = h.run_id)

-- name: hold_put
-- Only its own job and run may change a hold (the token is the caller's choice).
INSERT INTO semaphore_holds (token, job_id, run_id, name, mode, granted, since)
VALUES (%(token)s, %(job_id)s, %(run_id)s, %(name)s, %(mode)s, %(granted)s, %(now)s)
ON CONFLICT (token) DO UPDATE SET granted = EXCLUDED.granted
WHERE semaphore_holds.job_id = EXCLUDED.job_id AND semaphore_holds.run_id = EXCLUDED.run_id

-- name: hold_delete
DELETE FROM semaphore_holds WHERE job_id = %(job_id)s AND run_id = %(run_id)s
  AND token = ANY(%(tokens)s::text[])

-- name: holds_drop_jobs
DELETE FROM semaphore_holds WHERE job_id = ANY(%(ids)s)

-- name: running_by_type
SELECT type, count(*), max(id) FROM jobs
WHERE status = 'running' AND type = ANY(%(types)s::text[])
GROUP BY type

-- name: complete_simple
UPDATE jobs
SET status = 'completed', result = %(result)s::json, progress_completed = progress_total,
    finished = %(now)s, updated = %(now)s, lease_expires = NULL
WHERE id = %(id)s AND run_id = %(run_id)s AND status = 'running'

-- name: promote_due
-- Rows another process is promoting right now are skipped, not waited for.
WITH due AS (
    SELECT id FROM jobs
    WHERE status = 'waiting' AND after <= %(now)s AND pending = 0
    FOR UPDATE SKIP LOCKED)
UPDATE jobs j SET status = 'ready', updated = %(now)s
FROM due WHERE j.id = due.id
RETURNING j.id, j.queue

-- name: has_due
SELECT 1 FROM jobs WHERE status = 'waiting' AND after <= %(now)s AND pending = 0 LIMIT 1

-- name: next_due
SELECT after FROM jobs WHERE status = 'waiting' AND pending = 0 ORDER BY after LIMIT 1

-- name: extend_leases
UPDATE jobs SET lease_expires = %(lease_expires)s
WHERE status = 'running' AND run_id = ANY(%(run_ids)s::text[])

-- name: expired_leases
SELECT * FROM jobs WHERE status = 'running' AND lease_expires < %(now)s
ORDER BY lease_expires LIMIT %(limit)s

-- name: dependents
-- Inside a transaction PostgresStore appends a row lock (see LOCK_ROWS there).
SELECT j.* FROM jobs j JOIN job_deps d ON d.job_id = j.id
WHERE d.dep_id = ANY(%(ids)s) ORDER BY j.id

-- name: delete_deps
DELETE FROM job_deps WHERE job_id = ANY(%(ids)s)

-- name: delete_logs
DELETE FROM job_logs WHERE job_id = ANY(%(ids)s)

-- name: upsert_worker
INSERT INTO workers (name, host, pid, queues, concurrency, started, heartbeat, running, status)
VALUES (%(name)s, %(host)s, %(pid)s, %(queues)s::json, %(concurrency)s, %(started)s,
    %(heartbeat)s, %(running)s::json, %(status)s)
ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
    queues = EXCLUDED.queues, concurrency = EXCLUDED.concurrency, started = EXCLUDED.started,
    heartbeat = EXCLUDED.heartbeat, running = EXCLUDED.running, status = EXCLUDED.status

-- name: heartbeat_worker
UPDATE workers SET heartbeat = %(heartbeat)s, running = %(running)s::json, status = %(status)s
WHERE name = %(name)s

-- name: list_workers
SELECT * FROM workers ORDER BY name

-- name: delete_worker
DELETE FROM workers WHERE name = %(name)s

-- name: upsert_type
INSERT INTO job_types (name, kind, enabled, meta, created, updated)
VALUES (%(name)s, %(kind)s, %(enabled)s, %(meta)s::json, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, meta = EXCLUDED.meta,
    updated = EXCLUDED.updated

-- name: list_types
SELECT * FROM job_types ORDER BY name

-- name: set_type_enabled
UPDATE job_types SET enabled = %(enabled)s, updated = %(now)s WHERE name = %(name)s

-- name: delete_type
DELETE FROM job_types WHERE name = %(name)s

-- name: insert_tombstone
INSERT INTO job_tombstones (id, removed) VALUES (%(id)s, %(now)s) ON CONFLICT DO NOTHING

-- name: tombstones
SELECT id FROM job_tombstones WHERE id = ANY(%(ids)s)

-- name: touch_running
UPDATE jobs
SET updated = %(now)s, lease_expires = greatest(coalesce(lease_expires, 0), %(lease_expires)s)
WHERE id = %(id)s AND run_id = %(run_id)s AND status = 'running'

-- name: set_progress
UPDATE jobs SET progress_completed = %(completed)s, progress_total = %(total)s,
    updated = %(now)s,
    lease_expires = greatest(coalesce(lease_expires, 0), %(lease_expires)s)
WHERE id = %(id)s AND run_id = %(run_id)s AND status = 'running'

-- name: running_runs
SELECT run_id FROM jobs WHERE status = 'running' AND run_id = ANY(%(run_ids)s::text[])

-- name: insert_event
INSERT INTO events (time, name, data, source_job, depth, jobs)
VALUES (%(time)s, %(name)s, %(data)s::json, %(source_job)s, %(depth)s, %(jobs)s::json)
RETURNING id

-- name: list_events
SELECT * FROM events WHERE (%(name)s::text IS NULL OR name = %(name)s::text)
  AND id > %(after_id)s
ORDER BY id LIMIT %(limit)s

-- name: recent_events
SELECT * FROM events WHERE (%(name)s::text IS NULL OR name = %(name)s::text)
ORDER BY id DESC LIMIT %(limit)s

-- Transition events (0008_job_events) in (xid, id) order, from the cursor row's place
-- (a cursor whose row is gone starts at the next row's transaction), and only rows of
-- transactions older than every one still running: those can commit no more rows below.
-- name: job_events_after
WITH c AS (
    SELECT coalesce(
        (SELECT xid FROM job_events WHERE id = %(after)s),
        (SELECT min(xid) FROM job_events WHERE id > %(after)s),
        '0'::xid8) AS xid
)
SELECT e.id, e.time, e.name, e.job_id, e.type, e.queue, e.status, e.data
FROM job_events e, c
WHERE (e.xid, e.id) > (c.xid, %(after)s)
  AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
  AND (%(any_kind)s OR e.name = ANY(%(kinds)s::text[]))
ORDER BY e.xid, e.id LIMIT %(limit)s

-- name: job_events_last
-- "From now on": the last event in feed order that every reader can already see. Not
-- max(id): a transaction open now may commit events later under a smaller xid than events
-- already committed, and a cursor at max(id) would skip them for good. Events between this
-- one and max(id) are delivered again to such a reader: at least once, never lost.
SELECT coalesce((
    SELECT id FROM job_events
    WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY xid DESC, id DESC LIMIT 1), 0)

-- Cron schedules (jobyard.scheduler): the (type, tick) primary key fires each tick once.
-- Two schedulers inserting the same tick: the second waits for the first to commit, then
-- inserts nothing (rowcount 0) and so creates no job.

-- name: insert_schedule_tick
INSERT INTO schedule_ticks (type, tick, created) VALUES (%(type)s, %(tick)s, %(now)s)
ON CONFLICT DO NOTHING

-- name: set_schedule_tick_job
UPDATE schedule_ticks SET job_id = %(job_id)s WHERE type = %(type)s AND tick = %(tick)s

-- name: last_schedule_tick
SELECT max(tick) FROM schedule_ticks WHERE type = %(type)s

-- name: prune_schedule_ticks
DELETE FROM schedule_ticks WHERE tick < %(before)s
  AND tick < (SELECT max(t.tick) FROM schedule_ticks t WHERE t.type = schedule_ticks.type)

-- Item collections (jobyard.collections); find and count are built there, per dialect.
-- data is JSONB: JSON text parameters are cast with ::jsonb.

-- name: collection_insert
INSERT INTO collection_items (collection, status, data, created, updated)
VALUES (%(collection)s, %(status)s, %(data)s::jsonb, %(now)s, %(now)s)
RETURNING *

-- name: collection_get
SELECT * FROM collection_items WHERE collection = %(collection)s AND id = %(id)s

-- name: collection_update
UPDATE collection_items
SET status = coalesce(%(status)s::text, status), data = coalesce(%(data)s::jsonb, data),
    updated = %(now)s
WHERE collection = %(collection)s AND id = %(id)s
RETURNING *

-- name: collection_delete
DELETE FROM collection_items WHERE collection = %(collection)s AND id = %(id)s

-- name: collection_names
SELECT collection, status, count(*) AS items FROM collection_items
GROUP BY collection, status ORDER BY collection, status

-- Jobsets and their shared storage (jobyard.jobsets); meta and values are JSONB, given as
-- JSON text and cast with ::jsonb.

-- name: jobset_insert
INSERT INTO jobsets (kind, name, meta, created)
VALUES (%(kind)s, %(name)s, %(meta)s::jsonb, %(now)s)
RETURNING id

-- name: jobset_get
SELECT * FROM jobsets WHERE id = %(id)s

-- name: jobset_latest
SELECT id FROM jobsets WHERE kind = %(kind)s AND name = %(name)s ORDER BY id DESC LIMIT 1

-- name: jobsets_recent
SELECT * FROM jobsets WHERE kind = %(kind)s AND (%(before)s::bigint IS NULL OR id < %(before)s::bigint)
ORDER BY id DESC LIMIT %(limit)s

-- name: jobset_kv_get
SELECT value FROM jobset_kv WHERE jobset = %(jobset)s AND key = %(key)s

-- name: jobset_kv_all
SELECT key, value FROM jobset_kv WHERE jobset = %(jobset)s

-- name: jobset_kv_count
SELECT count(*) FROM jobset_kv WHERE jobset = %(jobset)s

-- name: jobset_kv_put
INSERT INTO jobset_kv (jobset, key, value, updated)
VALUES (%(jobset)s, %(key)s, %(value)s::jsonb, %(now)s)
ON CONFLICT (jobset, key) DO UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated

-- name: jobset_kv_delete
DELETE FROM jobset_kv WHERE jobset = %(jobset)s AND key = %(key)s

-- name: complete_many
-- A whole batch in one statement: the i-th id, run id and result go together.
UPDATE jobs j
SET status = 'completed', result = v.result::json, progress_completed = j.progress_total,
    finished = %(now)s, updated = %(now)s, lease_expires = NULL
FROM unnest(%(ids)s::bigint[], %(run_ids)s::text[], %(results)s::text[]) AS v(id, run_id, result)
WHERE j.id = v.id AND j.run_id = v.run_id AND j.status = 'running'
RETURNING j.id, j.has_dependents

-- The workers view (jobyard.manage.list_workers): a worker's jobs are those the jobs table
-- has running under its name right now, not the list its last heartbeat left behind.

-- name: set_worker_lease
UPDATE workers SET lease = %(lease)s WHERE name = %(name)s

-- name: running_by_worker
SELECT worker, id FROM jobs WHERE status = 'running' AND worker = ANY(%(names)s::text[])
ORDER BY worker, id

-- -- accounts (store/accounts.py) ------------------------------------------------------

-- name: user_insert
INSERT INTO users (name, role, password_hash, created, updated)
VALUES (%(name)s, %(role)s, %(password_hash)s, %(now)s, %(now)s)
RETURNING id

-- name: user_by_name
SELECT * FROM users WHERE name = %(name)s

-- name: user_by_id
SELECT * FROM users WHERE id = %(id)s

-- name: users_all
SELECT * FROM users ORDER BY name

-- name: users_count
SELECT count(*) FROM users WHERE (%(role)s::text IS NULL OR role = %(role)s::text)

-- name: user_set_password
UPDATE users SET password_hash = %(password_hash)s, updated = %(now)s WHERE id = %(id)s

-- name: user_set_role
UPDATE users SET role = %(role)s, updated = %(now)s WHERE id = %(id)s

-- name: user_set_lang
UPDATE users SET lang = %(lang)s, updated = %(now)s WHERE id = %(id)s

-- name: user_delete
DELETE FROM users WHERE id = %(id)s

-- name: token_insert
INSERT INTO api_tokens (name, role, user_id, hash, prefix, created, expires)
VALUES (%(name)s, %(role)s, %(user_id)s, %(hash)s, %(prefix)s, %(now)s, %(expires)s)
RETURNING id

-- name: token_by_hash
SELECT * FROM api_tokens WHERE hash = %(hash)s

-- name: tokens_all
SELECT * FROM api_tokens ORDER BY id

-- name: token_revoke
UPDATE api_tokens SET revoked = %(now)s WHERE id = %(id)s AND revoked IS NULL

-- name: token_touch
UPDATE api_tokens SET last_used = %(now)s WHERE id = %(id)s

-- name: tokens_delete_of_user
DELETE FROM api_tokens WHERE user_id = %(user_id)s

-- name: session_insert
INSERT INTO sessions (hash, user_id, csrf, created, expires)
VALUES (%(hash)s, %(user_id)s, %(csrf)s, %(now)s, %(expires)s)

-- name: session_by_hash
SELECT s.csrf, s.expires, u.id AS user_id, u.name, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.hash = %(hash)s

-- name: session_delete
DELETE FROM sessions WHERE hash = %(hash)s

-- name: sessions_delete_of_user
DELETE FROM sessions WHERE user_id = %(user_id)s

-- name: sessions_prune
DELETE FROM sessions WHERE expires < %(now)s

-- name: setup_link_insert
INSERT INTO setup_links (hash, created, expires) VALUES (%(hash)s, %(now)s, %(expires)s)

-- name: setup_link_use
UPDATE setup_links SET used = %(now)s WHERE hash = %(hash)s AND used IS NULL AND expires >= %(now)s

-- name: login_failure_insert
INSERT INTO login_failures (key, time) VALUES (%(key)s, %(now)s)

-- name: login_failures_count
SELECT count(*), min(time) FROM login_failures WHERE key = %(key)s AND time >= %(since)s

-- name: nonce_insert
-- A signed request seen: one row, or nothing when another process (or this one) saw it.
INSERT INTO request_nonces (nonce, seen) VALUES (%(nonce)s, %(now)s) ON CONFLICT (nonce) DO NOTHING

-- name: nonces_prune
DELETE FROM request_nonces WHERE seen < %(before)s

-- name: login_failures_prune
DELETE FROM login_failures WHERE time < %(before)s

-- name: login_failures_clear
DELETE FROM login_failures WHERE key = %(key)s

-- name: audit_insert
INSERT INTO audit_log (time, actor, role, via, action, target, address, outcome, detail)
VALUES (%(now)s, %(actor)s, %(role)s, %(via)s, %(action)s, %(target)s, %(address)s, %(outcome)s, %(detail)s::json)

-- name: audit_page
SELECT * FROM audit_log
WHERE (%(actor)s::text IS NULL OR actor = %(actor)s::text)
  AND (%(action)s::text IS NULL OR action = %(action)s::text)
  AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s::text)
  AND (%(since)s::float8 IS NULL OR time >= %(since)s::float8)
  AND (%(before)s::bigint IS NULL OR id < %(before)s::bigint)
ORDER BY id DESC LIMIT %(limit)s

-- name: active_by_queue
-- Each branch names its status as a literal, so each reads that status's partial index.
SELECT queue, 'ready' AS status, count(*) AS n FROM jobs WHERE status = 'ready' GROUP BY queue
UNION ALL
SELECT queue, 'running', count(*) FROM jobs WHERE status = 'running' GROUP BY queue
UNION ALL
SELECT queue, 'waiting', count(*) FROM jobs WHERE status = 'waiting' GROUP BY queue

-- Retention of the two append-only logs (jobyard.feed.prune): the oldest rows first, by id,
-- a chunk at a time, so a prune never holds a long lock.
-- name: events_oldest
SELECT id, time FROM events ORDER BY id LIMIT %(limit)s

-- name: events_delete_upto
DELETE FROM events WHERE id <= %(upto)s

-- name: events_max
-- Retention keeps the newest row of each log (store/events.py prune_log).
SELECT coalesce(max(id), 0) FROM events

-- name: job_events_max
SELECT coalesce(max(id), 0) FROM job_events

-- name: job_events_oldest
SELECT id, time FROM job_events ORDER BY id LIMIT %(limit)s

-- name: job_events_delete_upto
DELETE FROM job_events WHERE id <= %(upto)s

-- name: oldest_ready_by_queue
-- For /metrics only (it reads every ready row): when each queue's longest-waiting ready job
-- became ready ("updated" is set by every move to ready: enqueue, promotion, retry, resume).
SELECT queue, min(updated) FROM jobs WHERE status = 'ready' GROUP BY queue

-- name: running_of_run
-- The jobs one claim leased: their run ids are the claim's run id, '.', the job id
-- (a remote worker's retried claim: jobyard.api.work).
SELECT * FROM jobs WHERE status = 'running' AND left(run_id, length(%(run_id)s) + 1) = %(run_id)s || '.' ORDER BY id

-- name: observer_init
INSERT INTO observer_state (name, cursor, updated) VALUES (%(name)s, %(cursor)s, %(now)s)
ON CONFLICT (name) DO NOTHING

-- name: observer_claim
UPDATE observer_state SET owner = %(owner)s, lease_until = %(lease_until)s, updated = %(now)s
WHERE name = %(name)s AND (owner IS NULL OR owner = %(owner)s OR lease_until < %(now)s)
RETURNING *

-- name: observer_take
-- Only from the owner the caller saw (it found that owner's process dead).
UPDATE observer_state SET owner = %(owner)s, lease_until = %(lease_until)s, updated = %(now)s
WHERE name = %(name)s AND owner = %(from_owner)s
RETURNING *

-- name: observer_release
UPDATE observer_state SET owner = NULL, lease_until = NULL, updated = %(now)s
WHERE name = %(name)s AND owner = %(owner)s

-- name: observer_advance
UPDATE observer_state SET cursor = %(cursor)s, updated = %(now)s
WHERE name = %(name)s AND owner = %(owner)s

-- name: observer_get
SELECT * FROM observer_state WHERE name = %(name)s

-- name: observers_all
SELECT * FROM observer_state ORDER BY name

-- name: delivery_begin
INSERT INTO observer_deliveries (observer, event_id, job_id, event, status, attempts, created, updated)
VALUES (%(observer)s, %(event_id)s, %(job_id)s, %(event)s::json, 'sending', 1, %(now)s, %(now)s)
ON CONFLICT (observer, event_id) DO NOTHING

-- name: delivery_get
SELECT * FROM observer_deliveries WHERE observer = %(observer)s AND event_id = %(event_id)s

-- name: delivery_retry_begin
UPDATE observer_deliveries SET status = 'sending', attempts = attempts + 1, updated = %(now)s
WHERE observer = %(observer)s AND event_id = %(event_id)s AND status = 'retry'

-- name: delivery_finish
UPDATE observer_deliveries SET status = %(status)s, last_error = %(error)s, next_at = %(next_at)s,
    updated = %(now)s
WHERE observer = %(observer)s AND event_id = %(event_id)s

-- name: deliveries_due
SELECT * FROM observer_deliveries
WHERE observer = %(observer)s AND status = 'retry' AND next_at <= %(now)s
ORDER BY next_at, event_id LIMIT %(limit)s

-- name: deliveries_in_flight
SELECT * FROM observer_deliveries WHERE observer = %(observer)s AND status = 'sending'
ORDER BY event_id

-- name: deliveries_recent
SELECT * FROM observer_deliveries
WHERE (%(observer)s::text IS NULL OR observer = %(observer)s::text)
ORDER BY updated DESC, event_id DESC LIMIT %(limit)s

-- name: deliveries_count
SELECT status, count(*) AS n FROM observer_deliveries WHERE observer = %(observer)s GROUP BY status

-- name: deliveries_prune
DELETE FROM observer_deliveries WHERE observer = %(observer)s AND updated < %(before)s
  AND status IN ('sent', 'failed', 'unknown')

-- name: job_events_named
-- An event the code writes beside a change no trigger announces (job.redirected).
INSERT INTO job_events (time, name, job_id, type, queue, status, data)
SELECT %(now)s, %(name)s, id, type, queue, status, %(data)s::json FROM jobs WHERE id = ANY(%(ids)s)

-- Delayed works (jobyard.delayed, migration 0014).
-- name: delayed_insert
INSERT INTO delayed_works (type, nodes, data, props, at, cron, timezone, skip, paused, created, updated)
VALUES (%(type)s, %(nodes)s::json, %(data)s::json, %(props)s::json, %(at)s, %(cron)s, %(timezone)s,
        %(skip)s, %(paused)s, %(now)s, %(now)s)
RETURNING id

-- name: delayed_list
SELECT id, type, nodes, data, props, at, cron, timezone, skip, paused, done, fired, created, updated
FROM delayed_works ORDER BY id

-- name: delayed_get
SELECT id, type, nodes, data, props, at, cron, timezone, skip, paused, done, fired, created, updated
FROM delayed_works WHERE id = %(id)s

-- name: delayed_set
UPDATE delayed_works SET paused = %(paused)s, skip = %(skip)s, done = %(done)s, updated = %(now)s
WHERE id = %(id)s

-- name: delayed_use_skip
UPDATE delayed_works SET skip = skip - 1, updated = %(now)s WHERE id = %(id)s AND skip > 0

-- name: delayed_fired
UPDATE delayed_works SET fired = fired + 1, done = %(done)s, updated = %(now)s WHERE id = %(id)s

-- name: delayed_delete
DELETE FROM delayed_works WHERE id = %(id)s

-- Retention of finished jobs (jobyard.retention). Each branch names its status, so each
-- reads that status's partial index. The newest job row always stays: ids come from
-- max(id) + 1 and must never be handed out again.
-- name: finished_old
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed' AND finished < %(before)s
    UNION ALL SELECT id FROM jobs WHERE status = 'failed' AND finished < %(before)s
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled' AND finished < %(before)s
) f WHERE id < (SELECT max(id) FROM jobs) ORDER BY id LIMIT %(limit)s

-- name: finished_cutoff
-- The id of the newest finished job beyond the newest :keep of them (read once per prune;
-- archived jobs are all finished).
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed'
    UNION ALL SELECT id FROM jobs WHERE status = 'failed'
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled'
    UNION ALL SELECT id FROM jobs_archive
) f ORDER BY id DESC LIMIT 1 OFFSET %(keep)s

-- name: finished_upto
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed' AND id <= %(upto)s
    UNION ALL SELECT id FROM jobs WHERE status = 'failed' AND id <= %(upto)s
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled' AND id <= %(upto)s
) f WHERE id < (SELECT max(id) FROM jobs) ORDER BY id LIMIT %(limit)s

-- name: prune_tombstones
DELETE FROM job_tombstones WHERE removed < %(before)s
  AND id < (SELECT max(id) FROM job_tombstones)

-- name: job_event_created_row
-- job.created of new jobs, from the values at hand (no read of the rows just written);
-- one parameter per column, so PostgreSQL runs a big batch of them as COPY.
INSERT INTO job_events (time, name, job_id, type, queue, status) VALUES (%(time)s, %(name)s, %(id)s, %(type)s, %(queue)s, %(status)s)

-- The archive of finished jobs (migration 0022, jobyard.retention). Rows move between the
-- two tables with SELECT *: both have the same columns in the same order. Each move is two
-- statements in the caller's transaction, the rows locked by the first, so nobody changes
-- them in between; a job that is no longer finished stays where it is.

-- name: archive_copy
INSERT INTO jobs_archive
SELECT * FROM jobs WHERE id = ANY(%(ids)s) AND status IN ('completed', 'failed', 'cancelled')
FOR UPDATE

-- name: archive_delete
DELETE FROM jobs j USING jobs_archive a
WHERE j.id = ANY(%(ids)s) AND a.id = j.id

-- name: unarchive_copy
-- The jobs row first: the INSERT triggers see the archived row and write no job.created.
INSERT INTO jobs SELECT * FROM jobs_archive WHERE id = ANY(%(ids)s) FOR UPDATE

-- name: unarchive_delete
DELETE FROM jobs_archive a USING jobs j WHERE a.id = ANY(%(ids)s) AND j.id = a.id

-- name: archived_get
SELECT * FROM jobs_archive WHERE id = ANY(%(ids)s) ORDER BY id

-- name: archived_dependents
SELECT j.* FROM jobs_archive j JOIN job_deps d ON d.job_id = j.id
WHERE d.dep_id = ANY(%(ids)s) ORDER BY j.id

-- name: archived_old
SELECT id FROM jobs_archive WHERE finished < %(before)s ORDER BY finished, id LIMIT %(limit)s

-- name: archived_upto
SELECT id FROM jobs_archive WHERE id <= %(upto)s ORDER BY id LIMIT %(limit)s

-- name: archived_delete
DELETE FROM jobs_archive WHERE id = ANY(%(ids)s) RETURNING id
