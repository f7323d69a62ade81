#!/usr/bin/env bash
# Install what a fresh Debian machine lacks, then jobyard itself with its test extras.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg_cmd in "graphviz:dot" "git:git" "rsync:rsync" "openssh-server:sshd" "perl:perl" "chromium:chromium" "openssl:openssl" "iproute2:ip" "redis-server:redis-server"; do
    pkg=${pkg_cmd%%:*}; cmd=${pkg_cmd##*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "setup: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The PostgreSQL tests need a server on 127.0.0.1:5432 (trust auth, database "test");
# start the machine's cluster if it is installed but stopped (a running one is left alone).
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q; then
    if command -v pg_ctlcluster >/dev/null 2>&1; then
        for version in $(ls /etc/postgresql 2>/dev/null); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
    fi
fi
# bench/run.py's quick test needs Redis on 127.0.0.1:6379: start one if none answers.
if command -v redis-server >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null
fi
# Then create the test role and database if missing (never reconfigures the server).
bash tools/setup_pg.sh

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# The two peers of the sites benchmark and the Huey peer + probe of bench/run.py (in the
# bench extras): their quick modes are tests.
.venv/bin/python -m pip install -q "pyinfra>=3.0" "fabric>=3.2" "huey>=2.5" "redis>=5.0" "psutil>=5.9"
echo "setup: done (.venv ready)"
