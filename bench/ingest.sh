#!/usr/bin/env bash
# Ingest over HTTP beside the Hummingbird + PostgresNIO reference peer, in one session:
#   bench/ingest.sh [CONNECTIONS] [SECONDS]
# Starts a durable private PostgreSQL, a release `ingest`, and (when built: PEER_BIN, default
# /tmp/hb-peer/.build/release/App — build it from ../shared/bench-peers/hummingbird-ingest)
# the peer; drives both with wrk; checks that the durable event count matches the 2xx answers.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}; secs=${2:-15}
peer=${PEER_BIN:-/tmp/hb-peer/.build/release/App}
scripts/install-deps >/dev/null
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[[ ${SKIP_BUILD:-0} == 1 ]] || swift build -c release --product ingest >/dev/null
dir=bench/out/pg-ingest; rm -rf "$dir"; mkdir -p bench/out
url=$(scripts/pg-cluster start "$dir" 55432)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; scripts/pg-cluster stop "$dir"; }
trap cleanup EXIT

DATABASE_URL=$url PORT=18081 API_KEYS=site1:key1 LOG_LEVEL=error MASTER_KEY="b1:$(openssl rand -base64 32)" \
  .build/release/ingest & pids+=($!)
until curl -sf http://127.0.0.1:18081/healthz >/dev/null; do sleep 0.1; done

summary() { # wrk output → "req/s p50 p99 non2xx requests"
  awk '/Requests\/sec/{rps=$2} /^ +50%/{p50=$2} /^ +99%/{p99=$2} /Non-2xx/{bad=$5} /requests in/{n=$1} END{printf "%s %s %s %s %s\n", rps, p50, p99, (bad==""?0:bad), n}'
}
psql_count() { psql "$url" -XAtqc "$1"; }

echo "| server | load | requests/s | p50 | p99 | non-2xx | durable events / 2xx |"
echo "|---|---|---|---|---|---|---|"
before=$(psql_count "SELECT count(*) FROM events")
read -r rps p50 p99 bad n < <(wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/wrk/track_event.lua http://127.0.0.1:18081 | summary)
after=$(psql_count "SELECT count(*) FROM events")
echo "| ours | POST events, $conns conns | $rps | $p50 | $p99 | $bad | $((after - before)) / $((n - bad)) |"
read -r rps p50 p99 bad n < <(wrk -t2 -c"$conns" -d"${secs}s" --latency http://127.0.0.1:18081/healthz | summary)
echo "| ours | GET /healthz, $conns conns | $rps | $p50 | $p99 | $bad | - |"

if [[ -x $peer ]]; then
  psql "$url" -Xqc "CREATE ROLE pgbench LOGIN" -c "CREATE DATABASE bench OWNER pgbench" >/dev/null
  psql "${url%/postgres}/bench" -U pgbench -Xqc "CREATE TABLE events (position bigserial PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());" >/dev/null
  HB_PORT=18080 PG_PORT=55432 LOG_LEVEL=error "$peer" & pids+=($!)
  until curl -sf http://127.0.0.1:18080/ping >/dev/null; do sleep 0.1; done
  read -r rps p50 p99 bad n < <(wrk -t2 -c"$conns" -d"${secs}s" --latency -s ../shared/bench-peers/hummingbird-ingest/post_event.lua http://127.0.0.1:18080 | summary)
  echo "| peer (Hummingbird+PostgresNIO) | POST events, $conns conns | $rps | $p50 | $p99 | $bad | - |"
  read -r rps p50 p99 bad n < <(wrk -t2 -c"$conns" -d"${secs}s" --latency http://127.0.0.1:18080/ping | summary)
  echo "| peer (Hummingbird) | GET /ping, $conns conns | $rps | $p50 | $p99 | $bad | - |"
else
  echo "(peer not built at $peer: skipped)"
fi
echo "ingest RSS after load: $(awk '/VmHWM/{print $2" "$3" peak"}' /proc/${pids[0]}/status), $(awk '/VmRSS/{print $2" "$3" now"}' /proc/${pids[0]}/status)"
