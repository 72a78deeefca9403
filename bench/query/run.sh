#!/usr/bin/env bash
# Query service read latency at two table sizes, over HTTP with wrk:
#   bench/query/run.sh [LARGE_EVENTS=1000000] [SMALL_EVENTS=10000] [CONNECTIONS=64] [SECONDS=10]
# For each size: a fresh database on a private PostgreSQL, N message events loaded by SQL
# (load.sql), `query --rebuild` timed (events/s), then the release `query` serves
# GET /logs/{id}, GET /logs/{id}/events, a /v1/Email/ first page, a /v1/Email/ page deep in the
# table (from a Next cursor) and a filtered page. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
large=${1:-1000000}; small=${2:-10000}; conns=${3:-64}; secs=${4:-10}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v psql >/dev/null || { echo "psql not found: run scripts/install-deps" >&2; exit 1; }
[[ ${SKIP_BUILD:-} == 1 ]] || swift build -c release --product query >/dev/null
bin=.build/release/query
dir=bench/out/pg-query; rm -rf "$dir"; mkdir -p bench/out
# Throwaway data: no fsync.
url=$(PG_EXTRA_OPTIONS="-c fsync=off -c synchronous_commit=off -c shared_buffers=256MB" scripts/pg-cluster start "$dir" "${PG_PORT:-55433}")
pid=""
cleanup() { [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; scripts/pg-cluster stop "$dir"; }
trap cleanup EXIT
export API_KEYS=site1:key1 LOG_LEVEL=error MASTER_KEY="bench:$(openssl rand -base64 32)" PORT=18083

summary() { # wrk output → "req/s p50 p99 non2xx"
  awk '/Requests\/sec/{rps=$2} /^ +50%/{p50=$2} /^ +99%/{p99=$2} /Non-2xx/{bad=$5} END{printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}
bench() { # name, wrk args...
  local name=$1; shift
  read -r rps p50 p99 bad < <(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" http://127.0.0.1:18083 | summary)
  echo "| $n | $name | $rps | $p50 | $p99 | $bad |"
}

rows=()
for n in "$small" "$large"; do
  db="${url%/postgres}/qb_$n"
  psql "$url" -XAtqc "CREATE DATABASE qb_$n" >/dev/null
  DATABASE_URL=$db "$bin" --migrate-only
  t0=$(date +%s.%N)
  psql "$db" -Xq -v n="$n" -f bench/query/load.sql >/dev/null
  t1=$(date +%s.%N)
  rebuild=$(DATABASE_URL=$db "$bin" --rebuild)
  rows+=("| $n | load (SQL) $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f s", b-a}'); $rebuild |")
  DATABASE_URL=$db "$bin" & pid=$!
  until curl -sf http://127.0.0.1:18083/healthz >/dev/null; do sleep 0.1; done
  ids=bench/out/query-ids-$n.txt
  psql "$db" -XAtqc "SELECT 'log_' || replace(message_id::text, '-', '') FROM query_logs ORDER BY random() LIMIT 2000" > "$ids"
  auth=(-u site1:key1)
  deep=$(psql "$db" -XAtqc "SELECT seq FROM query_logs WHERE tenant = 'site1' AND has_request ORDER BY seq LIMIT 1 OFFSET $((n / 50))")
  cursor=$(printf 'v1:%s:' "$deep" | base64 -w0 | tr '+/' '-_' | tr -d '=')
  echo "== $n events loaded; benchmarking" >&2
  [[ $n == "$small" ]] && echo "| events | request | requests/s | p50 | p99 | non-2xx |" && echo "|---|---|---|---|---|---|"
  IDS_FILE=$ids bench "GET /logs/{id}" -s bench/query/get_random.lua
  IDS_FILE=$ids SUFFIX=/events bench "GET /logs/{id}/events" -s bench/query/get_random.lua
  PATH_TO_GET="/v1/Email/" bench "GET /v1/Email/ (first page, 100)" -s bench/query/get_fixed.lua
  PATH_TO_GET="/v1/Email/?Limit=100&Next=$cursor" bench "GET /v1/Email/ (page 90% deep)" -s bench/query/get_fixed.lua
  PATH_TO_GET="/v1/Email/?BrandId=brand-3&State=delivered&Limit=100&Next=$cursor" \
    bench "GET /v1/Email/ (BrandId+State, deep)" -s bench/query/get_fixed.lua
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
echo
echo "| events | rebuild |"
echo "|---|---|"
printf '%s\n' "${rows[@]}"
