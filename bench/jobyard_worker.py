"""Start one jobyard worker process for the benchmark (independent of jobyard's CLI).

python bench/jobyard_worker.py --db URL --name w1 --concurrency 4 [--lease S --heartbeat S]
"""

from __future__ import annotations

import argparse
import os
import sys

from common import ensure_import_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--name", default="bench-worker")
    parser.add_argument("--concurrency", "-c", type=int, default=4)
    parser.add_argument("--queue", default="default")
    parser.add_argument("--lease", type=float, default=None, help="lease seconds (default: config)")
    parser.add_argument("--heartbeat", type=float, default=None, help="heartbeat seconds")
    args = parser.parse_args()

    ensure_import_paths()
    from tasks_jobyard import build_yard

    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # an experiment knob, not a jobyard setting
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    options = {k: v for k, v in (("lease", args.lease), ("heartbeat", args.heartbeat)) if v}
    yard = build_yard(args.db, **options)
    yard.run_worker(name=args.name, queues=[args.queue], concurrency=args.concurrency)


if __name__ == "__main__":
    main()
