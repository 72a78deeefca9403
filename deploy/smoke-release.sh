#!/usr/bin/env bash
# CI's proof that the Dockerfile's build works and its binaries start: builds exactly as the
# build stage does (deploy/build-release.sh), then starts each release binary against a private
# PostgreSQL, waits for /healthz and /readyz, and stops it with SIGTERM (exit 0 expected).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
deploy/build-release.sh "$out" >/dev/null
dir=$(mktemp -d)
url=$(scripts/pg-cluster start "$dir/pg" 55488)
trap 'scripts/pg-cluster stop "$dir/pg"; rm -rf "$dir" "$out"' EXIT
port=18090
for name in ingest delivery query; do
  port=$((port + 1))
  DATABASE_URL=$url PORT=$port API_KEYS=site1:key1 LOG_LEVEL=error MAIL_TRANSPORT="file://$dir/mail" \
    "$out/$name" & pid=$!
  ok=""
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  [[ -n $ok ]] || { echo "release $name did not become ready"; kill -9 $pid; exit 1; }
  kill -TERM $pid
  if wait $pid; then echo "release $name: started, ready, stopped cleanly"; else echo "release $name: bad exit after SIGTERM"; exit 1; fi
done
