#!/usr/bin/env bash
# The whole test suite on a bare machine: installs what it needs, then lints and tests.
#   bash scripts/test.sh [pytest args...]      (PYTEST_WORKERS=N: N parallel workers)
# Uses the active virtualenv, or makes .venv in the repository. Debian's chromium is installed
# for the browser tests when missing and this runs as root (playwright cannot download one),
# and Debian's postgresql for the PostgreSQL store's tests (a throwaway cluster per session).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi

echo "== installing the package and its test extras"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[test]"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "!! chromium is missing and cannot be installed here: browser tests will be skipped"
  fi
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's postgresql for the PostgreSQL store's tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "!! PostgreSQL is missing and cannot be installed here: its store tests will be skipped"
  fi
fi

echo "== ruff"
ruff check .

echo "== pytest"
# one worker per CPU, at most 4 (each starts its own app, chromium and PostgreSQL cluster);
# PYTEST_WORKERS=0 runs in this process
python -m pytest -n "${PYTEST_WORKERS:-auto}" --maxprocesses=4 "$@"
