#!/usr/bin/env bash
# `make bench`: install redis-server from Debian if missing, then run the harness.
# Extra arguments go to the harness, e.g. `bash bench/run.sh --scale 0.01 --reps 1`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  else
    echo "redis-server is missing: install it (apt-get install redis-server) for the Celery side" >&2
  fi
fi
# The Debian package may start a system redis on 6379; the bench never uses it (own ports).
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" -m bench.harness "$@"
