#!/usr/bin/env bash
# GET /customers/{email}/logs with full pages (100 logs a customer), over HTTP with wrk:
#   bench/query/customer_logs.sh [QUERY_BINARY=.build/release/query] [SECONDS=8]
# load.sql's messages carry no recipient, so after the rebuild the read table's rows are given
# 100 addresses (r0..r99@example.com, 100 logs each) by SQL: this measures the read path only.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-.build/release/query}; secs=${2:-8}
dir=bench/out/pg-customer-logs; rm -rf "$dir"
url=$(PG_EXTRA_OPTIONS="-c fsync=off" scripts/pg-cluster start "$dir" "${PG_PORT:-55496}")
pid=""
cleanup() { [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; scripts/pg-cluster stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
psql "$url" -XAtqc "CREATE DATABASE c"
export DATABASE_URL="${url%/postgres}/c" API_KEYS=site1:key1 LOG_LEVEL=error MASTER_KEY="bench:$(openssl rand -base64 32)"
"$bin" --migrate-only
psql "$DATABASE_URL" -Xq -v n=50000 -f bench/query/load.sql >/dev/null
"$bin" --rebuild >/dev/null
psql "$DATABASE_URL" -XAtqc "UPDATE query_logs SET recipient_address = 'R' || ((seq / 5) % 100) || '@Example.com',
  recipient_lower = 'r' || ((seq / 5) % 100) || '@example.com', recipient_name = 'Name ' || seq"
ids=bench/out/customer-logs-ids.txt
psql "$DATABASE_URL" -XAtqc "SELECT 'r' || i || '@example.com' FROM generate_series(0, 99) i" > "$ids"
PORT=18193 "$bin" & pid=$!
until curl -sf http://127.0.0.1:18193/healthz >/dev/null; do sleep 0.1; done
for run in 1 2; do
  IDS_FILE=$ids PREFIX=/customers/ SUFFIX=/logs wrk -t2 -c64 -d"${secs}s" --latency -s bench/query/get_random.lua \
    http://127.0.0.1:18193 | grep -E "Requests/sec|^ +(50|99)%"
done
