#!/usr/bin/env bash
# Make a local PostgreSQL ready for the tests: the role and database of $JOBYARD_TEST_PG
# (default postgresql://postgres@127.0.0.1:5432/test) must exist and log in over TCP.
# Creates a missing role (LOGIN CREATEDB), gives a NOLOGIN role LOGIN and creates a missing
# database, as the postgres OS user over the server's unix socket ($PGHOST picks another
# socket dir). Idempotent. It never restarts, reloads or reconfigures a server: if the
# server's authentication refuses the login, it says what to change and leaves it to you.
set -uo pipefail

url=${JOBYARD_TEST_PG:-postgresql://postgres@127.0.0.1:5432/test}
PY=${PYTHON:-python3}
say() { echo "setup: postgres: $*"; }

if ! command -v psql >/dev/null 2>&1; then
    say "psql not installed: the postgres tests will be skipped (and fail with CI=true)"
    exit 0
fi
# user host port dbname, from the URL
read -r user host port db < <("$PY" - "$url" <<'PYEOF'
import sys
from urllib.parse import unquote, urlsplit
u = urlsplit(sys.argv[1])
print(unquote(u.username or "postgres"), u.hostname or "127.0.0.1", u.port or 5432,
      unquote(u.path.lstrip("/") or "postgres"))
PYEOF
)

tcp_ok() { psql "$url" -X -Atqc 'SELECT 1' >/dev/null 2>&1; }
if tcp_ok; then
    exit 0
fi
case $host in
    127.0.0.1 | localhost | ::1) ;;
    *) say "cannot log in at $host:$port (not local: not set up here)"; exit 0 ;;
esac
if [ "$(id -u)" = 0 ]; then
    as_postgres=(runuser -u postgres --)
elif [ "$(id -un)" = postgres ]; then
    as_postgres=()
elif sudo -n -u postgres true 2>/dev/null; then
    as_postgres=(sudo -n -u postgres)
else
    say "cannot act as the postgres OS user to create role $user / database $db"
    exit 0
fi
if ! id postgres >/dev/null 2>&1 && [ ${#as_postgres[@]} -gt 0 ]; then
    say "no postgres OS user: is a local PostgreSQL server installed?"
    exit 0
fi

# As the server's superuser over its unix socket (peer auth on Debian); cwd / because the
# postgres user may not be allowed into ours.
admin() { (cd / && "${as_postgres[@]}" psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"); }
if ! admin -Atc 'SELECT 1' >/dev/null 2>&1; then
    say "no local server answers on port $port (start it: pg_ctlcluster VERSION main start)"
    exit 0
fi
admin -v role="$user" -v dbname="$db" <<'SQL' || { say "could not create role/database"; exit 0; }
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN', :'role')
WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = :'role' AND NOT rolcanlogin) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec
SQL
if tcp_ok; then
    say "role $user and database $db ready on $host:$port"
else
    reason=$(psql "$url" -X -Atqc 'SELECT 1' 2>&1 | head -1)
    say "role $user and database $db exist, but the login over TCP still fails: $reason"
    say "the tests expect trust auth for it, e.g. 'host all all 127.0.0.1/32 trust' in"
    say "pg_hba.conf (then reload the server yourself); setup never changes its configuration"
fi
exit 0
