-- Named queries for SQLite. Every dialect file defines the same names.
-- Parameters use :name; list parameters are JSON arrays read with json_each.

-- name: insert_job
INSERT INTO jobs (id, type, queue, status, priority, data, props, progress_total, retries, retry_limit,
    retry_wait, retry_backoff, retry_until, repeats, repeated, repeat_wait, repeat_schedule,
    repeat_timezone, repeat_until, after, depends, pending, jobset, site, timeout, created,
    updated, semaphores, gated)
VALUES ((SELECT coalesce(max(m), 0) + 1 FROM (
        SELECT max(id) AS m FROM jobs UNION ALL SELECT max(id) FROM job_tombstones)),
    :type, :queue, :status, :priority, :data, :props, :progress_total, :retries, :retry_limit,
    :retry_wait, :retry_backoff, :retry_until, :repeats, :repeated, :repeat_wait,
    :repeat_schedule, :repeat_timezone, :repeat_until, :after, :depends, :pending, :jobset,
    :site, :timeout, :created, :updated, :semaphores, :gated)

-- name: insert_jobs_shared
-- A bulk enqueue of one spec: every row alike but for its data (:datas, a JSON array of
-- the data texts), numbered from :first. One statement binds the shared values once.
INSERT INTO jobs (id, type, queue, status, priority, data, props, progress_total, retries, retry_limit,
    retry_wait, retry_backoff, retry_until, repeats, repeated, repeat_wait, repeat_schedule,
    repeat_timezone, repeat_until, after, depends, pending, jobset, site, timeout, created,
    updated, semaphores, gated)
SELECT :first + d.key, :type, :queue, :status, :priority, d.value, :props, :progress_total,
    :retries, :retry_limit, :retry_wait, :retry_backoff, :retry_until, :repeats, :repeated,
    :repeat_wait, :repeat_schedule, :repeat_timezone, :repeat_until, :after, :depends,
    :pending, :jobset, :site, :timeout, :created, :updated, :semaphores, :gated
FROM json_each(:datas) AS d ORDER BY d.key

-- name: next_job_id
SELECT coalesce(max(m), 0) + 1 FROM (
    SELECT max(id) AS m FROM jobs UNION ALL SELECT max(id) FROM job_tombstones)

-- name: insert_dep
INSERT OR IGNORE INTO job_deps (job_id, dep_id) VALUES (:job_id, :dep_id)

-- name: mark_has_dependents
UPDATE jobs SET has_dependents = 1 WHERE id IN (SELECT value FROM json_each(:ids))

-- name: insert_log
INSERT INTO job_logs (job_id, time, run_id, level, message, data)
VALUES (:job_id, :time, :run_id, :level, :message, :data)

-- name: insert_log_event
-- job.log: one summary per job and batch of entries (docs/events.md), not one per line.
INSERT INTO job_events (time, name, job_id, type, queue, status, data)
SELECT :time, 'job.log', id, type, queue, status, :data FROM jobs WHERE id = :job_id

-- name: get_log
SELECT time, run_id, level, message, data FROM job_logs WHERE job_id = :job_id ORDER BY id

-- name: get_jobs
SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))

-- name: claim
UPDATE jobs
SET status = 'running', worker = :worker, run_id = :run_id || '.' || id,
    attempts = attempts + 1, started = :now, updated = :now, lease_expires = :lease_expires
WHERE id IN (
    SELECT id FROM jobs
    WHERE status = 'ready' AND queue IN (SELECT value FROM json_each(:queues))
      AND after <= :now AND (:any_type OR type IN (SELECT value FROM json_each(:types)))
      AND gated = 0
    ORDER BY priority, after, id
    LIMIT :limit)
RETURNING *

-- name: claim_candidates
SELECT priority, after, id AS sort_id, id FROM jobs INDEXED BY jobs_ready
WHERE status = 'ready' AND queue = :queue AND after <= :now
  AND (:any_type OR type IN (SELECT value FROM json_each(:types))) AND gated = 0
ORDER BY priority, after, id
LIMIT :limit

-- name: claim_ids
UPDATE jobs
SET status = 'running', worker = :worker, run_id = :run_id || '.' || id,
    attempts = attempts + 1, started = :now, updated = :now, lease_expires = :lease_expires
WHERE id IN (SELECT value FROM json_each(:ids)) AND +status = 'ready'
RETURNING *

-- The claim with admission (jobyard.admission; Store.claim_admitted): candidates of one
-- queue with their type, the running count per limited type, then claim_ids above.

-- name: lock_limit
-- Nothing to take: BEGIN IMMEDIATE's write lock already serialises claims (not called).
SELECT :key

-- name: admit_candidates
SELECT priority, after, id, type, queue FROM jobs INDEXED BY jobs_ready
WHERE status = 'ready' AND queue = :queue AND after <= :now
  AND (:any_type OR type IN (SELECT value FROM json_each(:types)))
  AND type NOT IN (SELECT value FROM json_each(:exclude)) AND gated = 0
ORDER BY priority, after, id
LIMIT :limit

-- name: admit_gated
-- One queue's gated candidates after a cursor, leaving out those that name a blocked
-- need (a global semaphore with no room at all).
SELECT priority, after, id, type, queue, jobset, site, semaphores FROM jobs INDEXED BY jobs_gated
WHERE status = 'ready' AND gated = 1 AND queue = :queue AND after <= :now
  AND (:any_type OR type IN (SELECT value FROM json_each(:types)))
  AND (:first OR priority > :p OR (priority = :p AND (after > :a OR (after = :a AND id > :i))))
  AND NOT EXISTS (SELECT 1 FROM json_each(jobs.semaphores) n
                  WHERE n.value IN (SELECT value FROM json_each(:blocked)))
ORDER BY priority, after, id
LIMIT :limit

-- name: running_gated
SELECT id, type, jobset, site, semaphores FROM jobs INDEXED BY jobs_gated_running
WHERE status = 'running' AND gated = 1

-- name: running_total
SELECT count(*), max(id) FROM jobs INDEXED BY jobs_running WHERE status = 'running'

-- name: ready_gated
SELECT * FROM jobs INDEXED BY jobs_gated WHERE status = 'ready' AND gated = 1
ORDER BY priority, after, id LIMIT :limit

-- name: semaphore_upsert
INSERT INTO semaphores (name, count, scope, holder, updated)
VALUES (:name, :count, :scope, :holder, :now)
ON CONFLICT (name) DO UPDATE SET count = excluded.count, scope = excluded.scope,
    holder = excluded.holder, updated = excluded.updated

-- name: semaphores_all
SELECT name, count, scope, holder FROM semaphores ORDER BY name

-- Call holds (jobyard.callholds, migration 0021): a row counts only while its job runs
-- under its run id.

-- name: hold_run
SELECT jobset FROM jobs WHERE id = :id AND run_id = :run_id AND status = 'running'

-- name: holds_live
SELECT h.token, h.job_id, h.name, h.mode, h.granted, h.since, j.jobset
FROM semaphore_holds h JOIN jobs j ON j.id = h.job_id
WHERE j.status = 'running' AND j.run_id = h.run_id
ORDER BY h.since, h.token

-- name: holds_prune
DELETE FROM semaphore_holds WHERE NOT EXISTS (
    SELECT 1 FROM jobs j WHERE j.id = semaphore_holds.job_id AND j.status = 'running'
      AND j.run_id = semaphore_holds.run_id)

-- name: hold_put
-- Only its own job and run may change a hold (the token is the caller's choice).
INSERT INTO semaphore_holds (token, job_id, run_id, name, mode, granted, since)
VALUES (:token, :job_id, :run_id, :name, :mode, :granted, :now)
ON CONFLICT (token) DO UPDATE SET granted = excluded.granted
WHERE semaphore_holds.job_id = excluded.job_id AND semaphore_holds.run_id = excluded.run_id

-- name: hold_delete
DELETE FROM semaphore_holds WHERE job_id = :job_id AND run_id = :run_id
  AND token IN (SELECT value FROM json_each(:tokens))

-- name: holds_drop_jobs
DELETE FROM semaphore_holds WHERE job_id IN (SELECT value FROM json_each(:ids))

-- name: running_by_type
SELECT type, count(*), max(id) FROM jobs INDEXED BY jobs_running
WHERE status = 'running' AND type IN (SELECT value FROM json_each(:types))
GROUP BY type

-- name: complete_simple
UPDATE jobs
SET status = 'completed', result = :result, progress_completed = progress_total,
    finished = :now, updated = :now, lease_expires = NULL
WHERE id = :id AND run_id = :run_id AND status = 'running'

-- name: promote_due
UPDATE jobs INDEXED BY jobs_waiting SET status = 'ready', updated = :now
WHERE status = 'waiting' AND after <= :now AND pending = 0
RETURNING id, queue

-- name: has_due
SELECT 1 FROM jobs INDEXED BY jobs_waiting
WHERE status = 'waiting' AND after <= :now AND pending = 0 LIMIT 1

-- name: next_due
SELECT after FROM jobs INDEXED BY jobs_waiting WHERE status = 'waiting' AND pending = 0
ORDER BY after LIMIT 1

-- name: extend_leases
UPDATE jobs SET lease_expires = :lease_expires
WHERE status = 'running' AND run_id IN (SELECT value FROM json_each(:run_ids))

-- name: expired_leases
SELECT * FROM jobs INDEXED BY jobs_running
WHERE status = 'running' AND lease_expires < :now ORDER BY lease_expires LIMIT :limit

-- name: dependents
SELECT j.* FROM jobs j JOIN job_deps d ON d.job_id = j.id
WHERE d.dep_id IN (SELECT value FROM json_each(:ids))

-- name: delete_deps
DELETE FROM job_deps WHERE job_id IN (SELECT value FROM json_each(:ids))

-- name: delete_logs
DELETE FROM job_logs WHERE job_id IN (SELECT value FROM json_each(:ids))

-- name: upsert_worker
INSERT INTO workers (name, host, pid, queues, concurrency, started, heartbeat, running, status)
VALUES (:name, :host, :pid, :queues, :concurrency, :started, :heartbeat, :running, :status)
ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid,
    queues = excluded.queues, concurrency = excluded.concurrency, started = excluded.started,
    heartbeat = excluded.heartbeat, running = excluded.running, status = excluded.status

-- name: heartbeat_worker
UPDATE workers SET heartbeat = :heartbeat, running = :running, status = :status
WHERE name = :name

-- name: list_workers
SELECT * FROM workers ORDER BY name

-- name: delete_worker
DELETE FROM workers WHERE name = :name

-- name: upsert_type
INSERT INTO job_types (name, kind, enabled, meta, created, updated)
VALUES (:name, :kind, :enabled, :meta, :now, :now)
ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, meta = excluded.meta,
    updated = excluded.updated

-- name: list_types
SELECT * FROM job_types ORDER BY name

-- name: set_type_enabled
UPDATE job_types SET enabled = :enabled, updated = :now WHERE name = :name

-- name: delete_type
DELETE FROM job_types WHERE name = :name

-- name: insert_tombstone
INSERT OR IGNORE INTO job_tombstones (id, removed) VALUES (:id, :now)

-- name: tombstones
SELECT id FROM job_tombstones WHERE id IN (SELECT value FROM json_each(:ids))

-- name: touch_running
UPDATE jobs SET updated = :now, lease_expires = max(coalesce(lease_expires, 0), :lease_expires)
WHERE id = :id AND run_id = :run_id AND status = 'running'

-- name: set_progress
UPDATE jobs SET progress_completed = :completed, progress_total = :total, updated = :now,
    lease_expires = max(coalesce(lease_expires, 0), :lease_expires)
WHERE id = :id AND run_id = :run_id AND status = 'running'

-- name: running_runs
SELECT run_id FROM jobs WHERE status = 'running' AND run_id IN (SELECT value FROM json_each(:run_ids))

-- name: insert_event
INSERT INTO events (time, name, data, source_job, depth, jobs)
VALUES (:time, :name, :data, :source_job, :depth, :jobs)
RETURNING id

-- name: list_events
SELECT * FROM events WHERE (:name IS NULL OR name = :name) AND id > :after_id
ORDER BY id LIMIT :limit

-- name: recent_events
SELECT * FROM events WHERE (:name IS NULL OR name = :name) ORDER BY id DESC LIMIT :limit

-- Transition events (0008_job_events): ids follow commit order (one writer at a time).
-- name: job_events_after
SELECT * FROM job_events
WHERE id > :after AND (:any_kind OR name IN (SELECT value FROM json_each(:kinds)))
ORDER BY id LIMIT :limit

-- name: job_events_last
SELECT coalesce(max(id), 0) FROM job_events

-- Cron schedules (jobyard.scheduler): the (type, tick) primary key fires each tick once.

-- name: insert_schedule_tick
INSERT OR IGNORE INTO schedule_ticks (type, tick, created) VALUES (:type, :tick, :now)

-- name: set_schedule_tick_job
UPDATE schedule_ticks SET job_id = :job_id WHERE type = :type AND tick = :tick

-- name: last_schedule_tick
SELECT max(tick) FROM schedule_ticks WHERE type = :type

-- name: prune_schedule_ticks
DELETE FROM schedule_ticks WHERE tick < :before
  AND tick < (SELECT max(t.tick) FROM schedule_ticks t WHERE t.type = schedule_ticks.type)

-- Item collections (jobyard.collections); find and count are built there, per dialect.

-- name: collection_insert
INSERT INTO collection_items (collection, status, data, created, updated)
VALUES (:collection, :status, :data, :now, :now)
RETURNING *

-- name: collection_get
SELECT * FROM collection_items WHERE collection = :collection AND id = :id

-- name: collection_update
UPDATE collection_items
SET status = coalesce(:status, status), data = coalesce(:data, data), updated = :now
WHERE collection = :collection AND id = :id
RETURNING *

-- name: collection_delete
DELETE FROM collection_items WHERE collection = :collection AND id = :id

-- name: collection_names
SELECT collection, status, count(*) AS items FROM collection_items
GROUP BY collection, status ORDER BY collection, status

-- Jobsets and their shared storage (jobyard.jobsets); values are JSON text.

-- name: jobset_insert
INSERT INTO jobsets (kind, name, meta, created) VALUES (:kind, :name, :meta, :now)
RETURNING id

-- name: jobset_get
SELECT * FROM jobsets WHERE id = :id

-- name: jobset_latest
SELECT id FROM jobsets WHERE kind = :kind AND name = :name ORDER BY id DESC LIMIT 1

-- name: jobsets_recent
SELECT * FROM jobsets WHERE kind = :kind AND (:before IS NULL OR id < :before)
ORDER BY id DESC LIMIT :limit

-- name: jobset_kv_get
SELECT value FROM jobset_kv WHERE jobset = :jobset AND key = :key

-- name: jobset_kv_all
SELECT key, value FROM jobset_kv WHERE jobset = :jobset

-- name: jobset_kv_count
SELECT count(*) FROM jobset_kv WHERE jobset = :jobset

-- name: jobset_kv_put
INSERT INTO jobset_kv (jobset, key, value, updated) VALUES (:jobset, :key, :value, :now)
ON CONFLICT (jobset, key) DO UPDATE SET value = excluded.value, updated = excluded.updated

-- name: jobset_kv_delete
DELETE FROM jobset_kv WHERE jobset = :jobset AND key = :key

-- name: complete_many
-- A whole batch in one statement; :rows is a JSON list of [id, run_id, result JSON text].
UPDATE jobs
SET status = 'completed', result = v.result, progress_completed = progress_total,
    finished = :now, updated = :now, lease_expires = NULL
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS run_id,
             json_extract(value, '$[2]') AS result
      FROM json_each(:rows)) AS v
WHERE jobs.id = v.id AND jobs.run_id = v.run_id AND jobs.status = 'running'
RETURNING jobs.id, jobs.has_dependents

-- The workers view (jobyard.manage.list_workers): a worker's jobs are those the jobs table
-- has running under its name right now, not the list its last heartbeat left behind.

-- name: set_worker_lease
UPDATE workers SET lease = :lease WHERE name = :name

-- name: running_by_worker
SELECT worker, id FROM jobs WHERE status = 'running'
  AND worker IN (SELECT value FROM json_each(:names))
ORDER BY worker, id

-- -- accounts (store/accounts.py) ------------------------------------------------------

-- name: user_insert
INSERT INTO users (name, role, password_hash, created, updated)
VALUES (:name, :role, :password_hash, :now, :now)
RETURNING id

-- name: user_by_name
SELECT * FROM users WHERE name = :name

-- name: user_by_id
SELECT * FROM users WHERE id = :id

-- name: users_all
SELECT * FROM users ORDER BY name

-- name: users_count
SELECT count(*) FROM users WHERE (:role IS NULL OR role = :role)

-- name: user_set_password
UPDATE users SET password_hash = :password_hash, updated = :now WHERE id = :id

-- name: user_set_role
UPDATE users SET role = :role, updated = :now WHERE id = :id

-- name: user_set_lang
UPDATE users SET lang = :lang, updated = :now WHERE id = :id

-- name: user_delete
DELETE FROM users WHERE id = :id

-- name: token_insert
INSERT INTO api_tokens (name, role, user_id, hash, prefix, created, expires)
VALUES (:name, :role, :user_id, :hash, :prefix, :now, :expires)
RETURNING id

-- name: token_by_hash
SELECT * FROM api_tokens WHERE hash = :hash

-- name: tokens_all
SELECT * FROM api_tokens ORDER BY id

-- name: token_revoke
UPDATE api_tokens SET revoked = :now WHERE id = :id AND revoked IS NULL

-- name: token_touch
UPDATE api_tokens SET last_used = :now WHERE id = :id

-- name: tokens_delete_of_user
DELETE FROM api_tokens WHERE user_id = :user_id

-- name: session_insert
INSERT INTO sessions (hash, user_id, csrf, created, expires)
VALUES (:hash, :user_id, :csrf, :now, :expires)

-- name: session_by_hash
SELECT s.csrf, s.expires, u.id AS user_id, u.name, u.role
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.hash = :hash

-- name: session_delete
DELETE FROM sessions WHERE hash = :hash

-- name: sessions_delete_of_user
DELETE FROM sessions WHERE user_id = :user_id

-- name: sessions_prune
DELETE FROM sessions WHERE expires < :now

-- name: setup_link_insert
INSERT INTO setup_links (hash, created, expires) VALUES (:hash, :now, :expires)

-- name: setup_link_use
UPDATE setup_links SET used = :now WHERE hash = :hash AND used IS NULL AND expires >= :now

-- name: login_failure_insert
INSERT INTO login_failures (key, time) VALUES (:key, :now)

-- name: login_failures_count
SELECT count(*), min(time) FROM login_failures WHERE key = :key AND time >= :since

-- name: nonce_insert
-- A signed request seen: one row, or nothing when another process (or this one) saw it.
INSERT INTO request_nonces (nonce, seen) VALUES (:nonce, :now) ON CONFLICT (nonce) DO NOTHING

-- name: nonces_prune
DELETE FROM request_nonces WHERE seen < :before

-- name: login_failures_prune
DELETE FROM login_failures WHERE time < :before

-- name: login_failures_clear
DELETE FROM login_failures WHERE key = :key

-- name: audit_insert
INSERT INTO audit_log (time, actor, role, via, action, target, address, outcome, detail)
VALUES (:now, :actor, :role, :via, :action, :target, :address, :outcome, :detail)

-- name: audit_page
SELECT * FROM audit_log
WHERE (:actor IS NULL OR actor = :actor) AND (:action IS NULL OR action = :action)
  AND (:outcome IS NULL OR outcome = :outcome) AND (:since IS NULL OR time >= :since)
  AND (:before IS NULL OR id < :before)
ORDER BY id DESC LIMIT :limit

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
SELECT id, time FROM events ORDER BY id LIMIT :limit

-- name: events_delete_upto
DELETE FROM events WHERE id <= :upto

-- name: events_max
-- Retention keeps the newest row of each log (store/events.py prune_log).
SELECT coalesce(max(id), 0) FROM events

-- name: job_events_max
SELECT coalesce(max(id), 0) FROM job_events

-- name: job_events_oldest
SELECT id, time FROM job_events ORDER BY id LIMIT :limit

-- name: job_events_delete_upto
DELETE FROM job_events WHERE id <= :upto

-- name: oldest_ready_by_queue
-- For /metrics only (it reads every ready row): when each queue's longest-waiting ready job
-- became ready ("updated" is set by every move to ready: enqueue, promotion, retry, resume).
SELECT queue, min(updated) FROM jobs WHERE status = 'ready' GROUP BY queue

-- name: running_of_run
-- The jobs one claim leased: their run ids are the claim's run id, '.', the job id
-- (a remote worker's retried claim: jobyard.api.work).
SELECT * FROM jobs WHERE status = 'running' AND substr(run_id, 1, length(:run_id) + 1) = :run_id || '.' ORDER BY id

-- name: observer_init
INSERT INTO observer_state (name, cursor, updated) VALUES (:name, :cursor, :now)
ON CONFLICT (name) DO NOTHING

-- name: observer_claim
UPDATE observer_state SET owner = :owner, lease_until = :lease_until, updated = :now
WHERE name = :name AND (owner IS NULL OR owner = :owner OR lease_until < :now)
RETURNING *

-- name: observer_take
-- Only from the owner the caller saw (it found that owner's process dead).
UPDATE observer_state SET owner = :owner, lease_until = :lease_until, updated = :now
WHERE name = :name AND owner = :from_owner
RETURNING *

-- name: observer_release
UPDATE observer_state SET owner = NULL, lease_until = NULL, updated = :now
WHERE name = :name AND owner = :owner

-- name: observer_advance
UPDATE observer_state SET cursor = :cursor, updated = :now
WHERE name = :name AND owner = :owner

-- name: observer_get
SELECT * FROM observer_state WHERE name = :name

-- name: observers_all
SELECT * FROM observer_state ORDER BY name

-- name: delivery_begin
INSERT INTO observer_deliveries (observer, event_id, job_id, event, status, attempts, created, updated)
VALUES (:observer, :event_id, :job_id, :event, 'sending', 1, :now, :now)
ON CONFLICT (observer, event_id) DO NOTHING

-- name: delivery_get
SELECT * FROM observer_deliveries WHERE observer = :observer AND event_id = :event_id

-- name: delivery_retry_begin
UPDATE observer_deliveries SET status = 'sending', attempts = attempts + 1, updated = :now
WHERE observer = :observer AND event_id = :event_id AND status = 'retry'

-- name: delivery_finish
UPDATE observer_deliveries SET status = :status, last_error = :error, next_at = :next_at, updated = :now
WHERE observer = :observer AND event_id = :event_id

-- name: deliveries_due
SELECT * FROM observer_deliveries
WHERE observer = :observer AND status = 'retry' AND next_at <= :now
ORDER BY next_at, event_id LIMIT :limit

-- name: deliveries_in_flight
SELECT * FROM observer_deliveries WHERE observer = :observer AND status = 'sending'
ORDER BY event_id

-- name: deliveries_recent
SELECT * FROM observer_deliveries
WHERE (:observer IS NULL OR observer = :observer)
ORDER BY updated DESC, event_id DESC LIMIT :limit

-- name: deliveries_count
SELECT status, count(*) AS n FROM observer_deliveries WHERE observer = :observer GROUP BY status

-- name: deliveries_prune
DELETE FROM observer_deliveries WHERE observer = :observer AND updated < :before
  AND status IN ('sent', 'failed', 'unknown')

-- name: job_events_named
-- An event the code writes beside a change no trigger announces (job.redirected).
INSERT INTO job_events (time, name, job_id, type, queue, status, data)
SELECT :now, :name, id, type, queue, status, :data FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))

-- Delayed works (jobyard.delayed, migration 0014).
-- name: delayed_insert
INSERT INTO delayed_works (type, nodes, data, props, at, cron, timezone, skip, paused, created, updated)
VALUES (:type, :nodes, :data, :props, :at, :cron, :timezone, :skip, :paused, :now, :now)
RETURNING id

-- name: delayed_list
SELECT id, type, nodes, data, props, at, cron, timezone, skip, paused, done, fired, created, updated
FROM delayed_works ORDER BY id

-- name: delayed_get
SELECT id, type, nodes, data, props, at, cron, timezone, skip, paused, done, fired, created, updated
FROM delayed_works WHERE id = :id

-- name: delayed_set
UPDATE delayed_works SET paused = :paused, skip = :skip, done = :done, updated = :now WHERE id = :id

-- name: delayed_use_skip
UPDATE delayed_works SET skip = skip - 1, updated = :now WHERE id = :id AND skip > 0

-- name: delayed_fired
UPDATE delayed_works SET fired = fired + 1, done = :done, updated = :now WHERE id = :id

-- name: delayed_delete
DELETE FROM delayed_works WHERE id = :id

-- Retention of finished jobs (jobyard.retention). Each branch names its status, so each
-- reads that status's partial index. The newest job row always stays: ids come from
-- max(id) + 1 and must never be handed out again.
-- name: finished_old
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed' AND finished < :before
    UNION ALL SELECT id FROM jobs WHERE status = 'failed' AND finished < :before
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled' AND finished < :before
) f WHERE id < (SELECT max(id) FROM jobs) ORDER BY id LIMIT :limit

-- name: finished_cutoff
-- The id of the newest finished job beyond the newest :keep of them (read once per prune;
-- archived jobs are all finished).
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed'
    UNION ALL SELECT id FROM jobs WHERE status = 'failed'
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled'
    UNION ALL SELECT id FROM jobs_archive
) f ORDER BY id DESC LIMIT 1 OFFSET :keep

-- name: finished_upto
SELECT id FROM (
    SELECT id FROM jobs WHERE status = 'completed' AND id <= :upto
    UNION ALL SELECT id FROM jobs WHERE status = 'failed' AND id <= :upto
    UNION ALL SELECT id FROM jobs WHERE status = 'cancelled' AND id <= :upto
) f WHERE id < (SELECT max(id) FROM jobs) ORDER BY id LIMIT :limit

-- name: prune_tombstones
DELETE FROM job_tombstones WHERE removed < :before
  AND id < (SELECT max(id) FROM job_tombstones)

-- name: job_event_created_row
-- job.created from values, the PostgreSQL way (kept so both dialects define the same
-- queries; SQLite writes these events from a trigger, migration 0016).
INSERT INTO job_events (time, name, job_id, type, queue, status) VALUES (:time, :name, :id, :type, :queue, :status)

-- The archive of finished jobs (migration 0022, jobyard.retention). Rows move between the
-- two tables with SELECT *: both have the same columns in the same order. Each move is two
-- statements in the caller's (write) transaction; a job that is no longer finished stays.

-- name: archive_copy
INSERT INTO jobs_archive
SELECT * FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
AND status IN ('completed', 'failed', 'cancelled')

-- name: archive_delete
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
AND id IN (SELECT id FROM jobs_archive WHERE id IN (SELECT value FROM json_each(:ids)))

-- name: unarchive_copy
-- The jobs row first: the INSERT triggers see the archived row and write no job.created.
INSERT INTO jobs SELECT * FROM jobs_archive WHERE id IN (SELECT value FROM json_each(:ids))

-- name: unarchive_delete
DELETE FROM jobs_archive WHERE id IN (SELECT value FROM json_each(:ids))
AND id IN (SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(:ids)))

-- name: archived_get
SELECT * FROM jobs_archive WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: archived_dependents
SELECT j.* FROM jobs_archive j JOIN job_deps d ON d.job_id = j.id
WHERE d.dep_id IN (SELECT value FROM json_each(:ids)) ORDER BY j.id

-- name: archived_old
SELECT id FROM jobs_archive WHERE finished < :before ORDER BY finished, id LIMIT :limit

-- name: archived_upto
SELECT id FROM jobs_archive WHERE id <= :upto ORDER BY id LIMIT :limit

-- name: archived_delete
DELETE FROM jobs_archive WHERE id IN (SELECT value FROM json_each(:ids)) RETURNING id
