#!/usr/bin/env bash
# Ingest over HTTP beside the Hummingbird + PostgresNIO reference peer, in one session, on one
# durable private PostgreSQL cluster (fsync and synchronous_commit on):
#   bench/ingest.sh [CONNECTIONS] [SECONDS]
# Environment: INGEST_BIN (default .build/release/ingest, e.g. a build of main to compare),
# PG_PORT (default 55432), RUNS (default 1; rows are printed per run, take medians), SKIP_BUILD=1,
# BATCH_CONNS (default 8), PEER_BIN (default /tmp/hb-peer/.build/release/App: build it from
# ../shared/bench-peers/hummingbird-ingest), ONLY (space-separated subset of:
# events customers batch plaintext healthz peer).
#
# For every POST load it checks that the durable event count equals the 2xx answers (events per
# request × 2xx; requests still in flight when wrk stops — at most one per connection — and
# timed-out ones may land too, so durable ≥ expected, and never fewer), and reports CPU-seconds per 1,000 requests of the server and of PostgreSQL
# (utime+stime from /proc, postmaster and its children). "plaintext" restarts ingest with
# personal-data encryption off — a BENCHMARK-ONLY mode (see Services/Ingest/Sources/
# PersonalDataSealing.swift) — to measure what encryption costs (issue #10).
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}; secs=${2:-15}; runs=${RUNS:-1}; bconns=${BATCH_CONNS:-8}
only=" ${ONLY:-events customers batch plaintext healthz peer} "
peer=${PEER_BIN:-/tmp/hb-peer/.build/release/App}
port=${PG_PORT:-55432}
scripts/install-deps >/dev/null
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
ingest_bin=${INGEST_BIN:-.build/release/ingest}
[[ ${SKIP_BUILD:-0} == 1 || -n ${INGEST_BIN:-} ]] || swift build -c release --product ingest >/dev/null
dir=bench/out/pg-ingest; rm -rf "$dir"; mkdir -p bench/out
url=$(scripts/pg-cluster start "$dir" $port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; scripts/pg-cluster stop "$dir"; }
trap cleanup EXIT
tmp=$(mktemp -d); trap 'cleanup; rm -rf "$tmp"' EXIT

master_key="b1:$(openssl rand -base64 32)"
start_ingest() { # [extra env...] → sets $ingest_pid
  env DATABASE_URL=$url PORT=18081 API_KEYS=site1:key1 LOG_LEVEL=error MASTER_KEY="$master_key" "$@" \
    "$ingest_bin" & ingest_pid=$!; pids+=($ingest_pid)
  until curl -sf http://127.0.0.1:18081/healthz >/dev/null; do sleep 0.1; done
}
stop_ingest() { kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true; }

ticks() { # CPU ticks (utime+stime) of the given pids
  local t=0 p; for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done; echo $t
}
pg_pids() { local m; m=$(head -1 "$dir/data/postmaster.pid"); echo "$m $(pgrep -P "$m" | tr '\n' ' ')"; }
hz=$(getconf CLK_TCK)
count() { psql "$1" -XAtqc "SELECT count(*) FROM events"; }
settled_count() { # the count once appends in flight when wrk stopped have landed
  local a b; a=$(count "$1"); while sleep 0.3; b=$(count "$1"); [[ $a != "$b" ]]; do a=$b; done; echo "$b"
}
want() { [[ $only == *" $1 "* ]]; }

# measure LABEL SERVER_PID DB_URL EVENTS_PER_REQUEST CONNS WRK_SCRIPT URL
measure() {
  local label=$1 spid=$2 db=$3 per=$4 c=$5 script=$6 target=$7
  cat "$script" bench/wrk/report.lua >"$tmp/run.lua"
  # Every POST load starts from a fresh checkpoint (as pgbench does before a run), for ours and
  # the peer alike: otherwise one load's WAL makes the checkpoint land inside the next load.
  [[ $per != - ]] && psql "$url" -XAtqc CHECKPOINT
  local before=0; [[ $per != - ]] && before=$(count "$db")
  local s0 p0; s0=$(ticks "$spid"); p0=$(ticks $(pg_pids))
  local line; line=$(wrk -t2 -c"$c" -d"${secs}s" --latency -s "$tmp/run.lua" "$target" | grep '^RESULT')
  local s1 p1; s1=$(ticks "$spid"); p1=$(ticks $(pg_pids))
  read -r _ n bad rps p50 p99 other <<<"$line"
  local ok=$((n - bad)) durable=- evs=-
  if [[ $per != - ]]; then
    durable="$(( $(settled_count "$db") - before )) / $((ok * per))"
    evs=$(awk -v r="$rps" -v p="$per" 'BEGIN{printf "%.0f", r * p}')
  fi
  local cpu; cpu=$(awk -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v n="$n" -v hz="$hz" \
    'BEGIN{ if (n == 0) n = 1; printf "%.3f / %.3f", s / hz * 1000 / n, p / hz * 1000 / n }')
  echo "| $label | $c | $rps | $evs | $p50 | $p99 | $bad / $other | $durable | $cpu | $(cut -d' ' -f1 /proc/loadavg) |"
}

echo "connections: $conns (batch: $bconns), seconds: $secs, runs: $runs"
echo "| server | conns | requests/s | events/s | p50 ms | p99 ms | non-2xx / timeouts+socket errors | durable events / 2xx × events | CPU s per 1k req: server / postgres | load |"
echo "|---|---|---|---|---|---|---|---|---|---|"

peer_ready=0
if want peer && [[ -x $peer ]]; then
  psql "$url" -Xqc "CREATE ROLE pgbench LOGIN" -c "CREATE DATABASE bench OWNER pgbench" >/dev/null
  peer_url="postgresql://pgbench@127.0.0.1:$port/bench"
  psql "$peer_url" -Xqc "CREATE TABLE events (position bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL,
    data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
  HB_PORT=18080 PG_PORT=$port LOG_LEVEL=error "$peer" & peer_pid=$!; pids+=($peer_pid)
  until curl -sf http://127.0.0.1:18080/ping >/dev/null; do sleep 0.1; done
  peer_ready=1
fi
echo '-- plain GET' >"$tmp/none.lua"

start_ingest
for ((r = 1; r <= runs; r++)); do
  if want events; then measure "ours: POST /api/v1/customers/{id}/events" "$ingest_pid" "$url" 1 "$conns" bench/wrk/track_event.lua http://127.0.0.1:18081; fi
  if [[ $peer_ready == 1 ]]; then measure "peer: POST /v1/customers/{id}/events" "$peer_pid" "$peer_url" 1 "$conns" ../shared/bench-peers/hummingbird-ingest/post_event.lua http://127.0.0.1:18080; fi
  if want customers; then measure "ours: POST /customers" "$ingest_pid" "$url" 1 "$conns" bench/wrk/customer_upsert.lua http://127.0.0.1:18081; fi
  if want batch; then measure "ours: POST /api/v2/batch (1,000 events)" "$ingest_pid" "$url" 1000 "$bconns" bench/wrk/batch_events.lua http://127.0.0.1:18081; fi
  if want healthz; then measure "ours: GET /healthz" "$ingest_pid" "$url" - "$conns" "$tmp/none.lua" http://127.0.0.1:18081/healthz; fi
  if [[ $peer_ready == 1 ]]; then measure "peer: GET /ping" "$peer_pid" "$url" - "$conns" "$tmp/none.lua" http://127.0.0.1:18080/ping; fi
done
echo "ingest RSS: $(awk '/VmHWM/{print $2" "$3" peak"}' /proc/$ingest_pid/status), $(awk '/VmRSS/{print $2" "$3" now"}' /proc/$ingest_pid/status)"

if want plaintext; then
  stop_ingest
  start_ingest INGEST_BENCHMARK_ONLY_PLAINTEXT=store-personal-data-in-clear
  for ((r = 1; r <= runs; r++)); do
    measure "ours, encryption OFF (benchmark only): POST events" "$ingest_pid" "$url" 1 "$conns" bench/wrk/track_event.lua http://127.0.0.1:18081
    if want batch; then measure "ours, encryption OFF: POST /api/v2/batch" "$ingest_pid" "$url" 1000 "$bconns" bench/wrk/batch_events.lua http://127.0.0.1:18081; fi
  done
fi
