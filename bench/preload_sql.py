"""The SQL of bench/preload_fill.py's history: jobs, their logs and their events, made
from a range of ids by arithmetic (no randomness: two runs write the same rows). See
preload_fill.py for what the rows look like and why."""

from __future__ import annotations

# (type, queue, share in %): mail and images dominate, deploys and backups are rare.
TYPES = (
    ("send_email", "mail", 24),
    ("resize_image", "images", 16),
    ("webhook", "default", 12),
    ("sync_account", "default", 10),
    ("index_document", "search", 9),
    ("thumbnail", "images", 8),
    ("cleanup", "default", 6),
    ("charge_card", "billing", 5),
    ("report.daily", "reports", 3),
    ("export_csv", "reports", 3),
    ("backup", "node:db1", 2),
    ("deploy", "node:web1", 2),
)
ERROR = "TimeoutError: upstream did not answer in 30 s"


DATA = (
    "'{\"account\":' || (i % 5000) || ',\"item\":' || i"
    ' || \',"pad":"abcdefghijklmnopqrstuvwxyz012345"}\''
)
RESULT = (
    "CASE WHEN status = 'completed' THEN '{\"ok\":true,\"items\":' || (h % 40)"
    " || ',\"ms\":' || (h * 7 % 3000) || '}' ELSE 'null' END"
)


def _failure(n: int) -> str:
    """The JSON text of a job's n-th failure (the worker's shape), as an SQL expression:
    attempts are 10 s apart, the last failure is the job's end."""
    at = "f" if n == 3 else f"(c + {10 * n - 9})"
    return f'\'{{"time":\' || {at} || \',"error":"{ERROR}","attempt":{n}}}\''


_THREE = " || ',' || ".join(_failure(n) for n in (1, 2, 3))
FAILURES = (
    f"CASE WHEN status = 'failed' THEN '[' || {_THREE} || ']' "
    f"WHEN attempts = 2 THEN '[' || {_failure(1)} || ']' ELSE '[]' END"
)


def jobs_sql(postgres: bool) -> str:
    """The INSERT of jobs ``:lo``..``:hi`` (``:t0`` + id x ``:step`` their creation)."""

    def json(e: str) -> str:
        return f"CAST({e} AS json)" if postgres else e

    hex_id = "lpad(to_hex(i), 12, '0')" if postgres else "printf('%012x', i)"
    bound, types, queues = 0, [], []
    for name, queue, share in TYPES:
        bound += share
        types.append(f"WHEN k < {bound} THEN '{name}'")
        queues.append(f"WHEN k < {bound} THEN '{queue}'")
    if postgres:
        prefix, source = "", "generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g(i)"
    else:
        prefix = (
            "WITH RECURSIVE n(i) AS "
            "(SELECT CAST(:lo AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < :hi)"
        )
        source = "n"
    return f"""{prefix}
INSERT INTO jobs (id, type, queue, status, priority, data, result, progress_completed,
                  attempts, retry_limit, failures, worker, run_id, after, created, updated,
                  started, finished)
SELECT i, CASE {" ".join(types)} END, CASE {" ".join(queues)} END, status,
       CASE i % 20 WHEN 0 THEN 10 WHEN 1 THEN -10 ELSE 0 END,
       {json(DATA)}, {json(RESULT)},
       CASE WHEN status = 'completed' THEN 100 ELSE 0 END,
       attempts, 2, {json(FAILURES)},
       CASE WHEN status = 'cancelled' THEN NULL ELSE 'w' || (i % 6) || '.prod' END,
       CASE WHEN status = 'cancelled' THEN NULL ELSE {hex_id} || '.' || attempts END,
       c, c, f, s, f
FROM (
    SELECT i, h, k, c, status, attempts,
           CASE status WHEN 'cancelled' THEN NULL
                ELSE c + 10 * (attempts - 1) + 0.05 + (h % 50) / 100.0 END AS s,
           CASE status WHEN 'cancelled' THEN c + 30
                ELSE c + 10 * (attempts - 1) + 0.06 + (h % 50) / 100.0 + (h % 300) / 100.0
           END AS f
    FROM (
        SELECT i, h, k, c, status,
               CASE status WHEN 'failed' THEN 3 WHEN 'cancelled' THEN 0
                           ELSE CASE WHEN h < 27 THEN 2 ELSE 1 END END AS attempts
        FROM (
            SELECT i, h, k, c,
                   CASE WHEN h < 900 THEN 'completed' WHEN h < 970 THEN 'failed'
                        ELSE 'cancelled' END AS status
            FROM (
                SELECT i, (i * 2654435761) % 1000 AS h, ((i / 3) * 40503) % 100 AS k,
                       :t0 + i * :step AS c
                FROM {source}
            ) r
        ) a
    ) b
) d
"""


LOGS_SQL = f"""
INSERT INTO job_logs (job_id, time, run_id, level, message)
SELECT job_id, time, run_id, level, message FROM (
    SELECT id AS job_id, finished - 0.005 AS time, run_id, 'info' AS level,
           'processed ' || (id % 40) || ' items' AS message
    FROM jobs WHERE id BETWEEN :lo AND :hi AND status = 'completed' AND id % 2 = 0
    UNION ALL
    SELECT id, created + 0.5, run_id, 'info', 'connecting to upstream'
    FROM jobs WHERE id BETWEEN :lo AND :hi AND status = 'failed'
    UNION ALL
    SELECT j.id, CASE a.n WHEN 3 THEN j.finished ELSE j.created + 10 * a.n - 9 END,
           j.run_id, 'danger',
           'Job Failed with Error: {ERROR}'
           || CASE WHEN a.n < 3 THEN ' (retrying in 10 s)' ELSE '' END
    FROM jobs j CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) a
    WHERE j.id BETWEEN :lo AND :hi AND j.status = 'failed'
    UNION ALL
    SELECT id, finished, NULL, 'warning', 'Job Cancelled'
    FROM jobs WHERE id BETWEEN :lo AND :hi AND status = 'cancelled'
) x ORDER BY job_id, time
"""

EVENTS_SQL = """
INSERT INTO job_events (time, name, job_id, type, queue, status)
SELECT time, name, job_id, type, queue, status FROM (
    SELECT created AS time, 'job.created' AS name, id AS job_id, type, queue,
           'ready' AS status
    FROM jobs WHERE id BETWEEN :lo AND :hi
    UNION ALL
    SELECT started, 'job.started', id, type, queue, 'running'
    FROM jobs WHERE id BETWEEN :lo AND :hi AND started IS NOT NULL
    UNION ALL
    SELECT finished, 'job.' || status, id, type, queue, status
    FROM jobs WHERE id BETWEEN :lo AND :hi
) x ORDER BY time, job_id
"""
