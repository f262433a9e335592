#!/usr/bin/env bash
# Make sure a PostgreSQL server answers for the tests: at $TIER_TEST_PG_URL, or 127.0.0.1:5432
# with trust auth and a database named "test". Where none listens, install Debian's postgresql
# and start it on loopback. Where even that is impossible, say so loudly; the tests then skip
# their PostgreSQL runs with the same message.
set -u
url="${TIER_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}"
py="${VENV:-.venv}/bin/python"

pg_ok() {
  "$py" - "$url" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

if pg_ok; then echo "postgres: answering at ${url%%@*}@…"; exit 0; fi
if [ -n "${TIER_TEST_PG_URL:-}" ]; then
  echo "!!! postgres: TIER_TEST_PG_URL is set but does not answer; PostgreSQL tests will be SKIPPED" >&2
  exit 0
fi

loud() { echo "!!! postgres: $* — PostgreSQL tests will be SKIPPED" >&2; exit 0; }
[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO="${SUDO:-}"
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  command -v apt-get >/dev/null || loud "no server, and no apt-get to install one"
  echo "postgres: installing Debian's postgresql package"
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null \
    || loud "apt-get install postgresql failed"
fi
ver=$(ls /etc/postgresql | sort -n | tail -1)
conf=/etc/postgresql/$ver/main
# Loopback only, trust auth: a throwaway test server, never exposed.
$SUDO sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
if ! $SUDO grep -q "tiered-router tests" "$conf/pg_hba.conf"; then
  $SUDO sed -i '1i # tiered-router tests\nhost all all 127.0.0.1/32 trust\nlocal all all trust' "$conf/pg_hba.conf"
fi
$SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload 2>/dev/null || true
for _ in $(seq 1 30); do
  if $SUDO -u postgres psql -qAtc "select 1" >/dev/null 2>&1; then break; fi
  sleep 1  # waiting for a server process to come up, not synchronising tests
done
$SUDO -u postgres psql -qAtc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1 \
  || $SUDO -u postgres createdb test 2>/dev/null
pg_ok && { echo "postgres: started on 127.0.0.1:5432"; exit 0; }
loud "could not start a server on 127.0.0.1:5432"
