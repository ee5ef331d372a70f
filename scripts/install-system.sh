#!/usr/bin/env bash
# What a fresh Debian machine lacks for deadzone's full test suite: PostGIS for the
# production database tests, Chromium for the browser tests. Starts PostgreSQL if it is
# not running and creates the test database. Safe to run again. Needs root.
set -euo pipefail

need=()
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'deadzone_test'" \
  | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE deadzone_test"
psql -h 127.0.0.1 -U postgres -d deadzone_test -qc "CREATE EXTENSION IF NOT EXISTS postgis"
echo "system ready: PostGIS $(psql -h 127.0.0.1 -U postgres -d deadzone_test -tAc 'SELECT postgis_lib_version()'), $(chromium --version)"
