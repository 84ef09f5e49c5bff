#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine and runs the whole suite.
#   bash scripts/test.sh [pytest arguments]
# Needs: python3 with venv; PostgreSQL reachable at TEST_DATABASE_URL (default: postgres on
# 127.0.0.1:5432, database test); root or an existing install for Debian's chromium and
# chromium-driver (the Swagger UI browser test) and pgbouncer (tests/ops/test_pgbouncer.py).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
  || [ ! -x /usr/sbin/pgbouncer ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium, chromium-driver and pgbouncer for the tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver pgbouncer \
      >/dev/null
  else
    echo "chromium/chromedriver/pgbouncer missing and cannot be installed here; their tests will skip (fail under CI=true)" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

exec .venv/bin/python -m pytest "$@"
