#!/usr/bin/env bash
# Every HTTP benchmark of issue 9 in one run, each service in release mode against its own
# durable PostgreSQL cluster, measured by bench/lib/loadrun.py (wrk + /proc: requests/s,
# p50/p99/p99.9, CPU s per 1,000 requests of the service and of PostgreSQL, peak RSS).
#
#   bench/run-all.sh [SECONDS=10] [LARGE=1000000]
#
# Writes bench/results/run-<UTC time>.jsonl (one JSON record a measurement) and .md, and
# copies them to bench/results/latest.{jsonl,md}. Sections:
#   ingest   POST /api/v1/customers/{id}/events at 1, 16, 64, 256 connections and POST /customers
#            (durable rows in the table vs 2xx answers), GET /healthz
#   lag      projection lag (append acknowledged -> visible in query) under ingest paced at
#            1,000 and 5,000 events/s: p50/p90/p99 (bench/projection/lag.py), in lag-<time>.jsonl
#   scale    ingest appends, query reads and delivery accepts with 10^4, 10^5 and LARGE events in
#            the table (SCALE_SIZES overrides the list)
#   query    GET /logs/{id}, /logs/{id}/events, /customers/{email}, /customers/{email}/logs,
#            /v1/Email/ pages
#   delivery POST /v1/Email/ (100 messages a request) accepted durably, then end to end to an
#            SMTP sink (aiosmtpd and the fast sink; bench/delivery/run.py), in delivery-<time>.jsonl
# The deeper per-service benchmarks (the Hummingbird peer side by side, SendGrid batches) have
# their own scripts beside this one.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}; large=${2:-1000000}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[[ ${SKIP_BUILD:-0} == 1 ]] || swift build -c release >/dev/null
bin=.build/release
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results bench/out
out=bench/results/run-$stamp.jsonl; : > "$out"
dir=bench/out/pg-all; rm -rf "$dir"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
url=$(scripts/pg-cluster start "$dir" "$(free_port)")   # durable: fsync and synchronous_commit on
ingest_port=$(free_port); delivery_port=$(free_port); query_port=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; scripts/pg-cluster stop "$dir"; }
trap cleanup EXIT
export API_KEYS=site1:key1 LOG_LEVEL=error MASTER_KEY="bench:$(openssl rand -base64 32)"
export MAIL_TRANSPORT="file://$PWD/bench/out/outbox-all" MAIL_FROM_DOMAIN=bench.test

start() { # name port database → pid in $started
  DATABASE_URL=$3 PORT=$2 "$bin/$1" & started=$!; pids+=("$started")
  until curl -sf "http://127.0.0.1:$2/healthz" >/dev/null; do sleep 0.1; done
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
caught_up() { # port: wait until every projection of the service has caught up with the table
  until r=$(curl -s "http://127.0.0.1:$1/readyz") && [[ $r == *'"caught_up":true'* && $r != *'"caught_up":false'* ]]; do sleep 0.5; done
}
run() { # name url pid database [loadrun args...]
  local name=$1 target=$2 pid=$3 db=$4; shift 4
  bench/lib/loadrun.py --name "$name" --url "$target" --service-pid "$pid" --pg-data "$dir" \
    --database-url "$db" --seconds "$secs" --out "$out" "$@"
}
newdb() { psql "$url" -XAtqc "CREATE DATABASE $1" >/dev/null; echo "${url%/postgres}/$1"; }
load() { psql "$1" -Xq -v n="$2" -v first="$3" -f bench/query/load.sql >/dev/null; }  # database, events, first message number
count_events="SELECT count(*) FROM events"

echo "== ingest" >&2
db=$(newdb ingest_conns)
start ingest $ingest_port "$db"; ingest=$started
for c in 1 16 64 256; do
  run "ingest POST /api/v1/customers/{id}/events" http://127.0.0.1:$ingest_port "$ingest" "$db" --connections "$c" \
    --script bench/wrk/track_event.lua --count-sql "$count_events"
done
run "ingest POST /customers" http://127.0.0.1:$ingest_port "$ingest" "$db" --connections 64 \
  --script bench/wrk/customer_upsert.lua --count-sql "$count_events"
run "ingest GET /healthz" http://127.0.0.1:$ingest_port/healthz "$ingest" "$db" --connections 64
stop "$ingest"

echo "== projection lag under paced ingest" >&2
# wrk paces each connection (DELAY_MS between requests); the rate reached is measured from the
# table. The probe (lag.py) times append acknowledged -> visible through query, no token.
lag_out=bench/results/lag-$stamp.jsonl; : > "$lag_out"
db=$(newdb lag)
start ingest $ingest_port "$db"; ingest=$started
start query $query_port "$db"; query=$started
for target in 1000 5000; do
  conns=$((target * 14 / 1000)); (( conns < 2 )) && conns=2
  DELAY_MS=10 wrk -t2 -c$conns -d$((secs + 4))s -s bench/projection/paced_events.lua http://127.0.0.1:$ingest_port >/dev/null &
  wrk_pid=$!
  sleep 2
  bench/projection/lag.py --ingest http://127.0.0.1:$ingest_port --query http://127.0.0.1:$query_port \
    --seconds "$secs" --count-url "$db" --name "projection lag, paced for $target events/s" --out "$lag_out" >&2
  wait $wrk_pid
done
stop "$ingest"; stop "$query"

echo "== scale curve, query and delivery" >&2
db=$(newdb scale)
DATABASE_URL=$db "$bin/query" --migrate-only
DATABASE_URL=$db "$bin/delivery" --migrate-only
have=0
for n in ${SCALE_SIZES:-10000 100000 $large}; do
  load "$db" $((n - have)) $((have / 5)); have=$n
  extra="{\"events_in_table\": $(psql "$db" -XAtqc "$count_events")}"
  start ingest $ingest_port "$db"; ingest=$started
  run "ingest POST events (table $n)" http://127.0.0.1:$ingest_port "$ingest" "$db" --connections 64 \
    --script bench/wrk/track_event.lua --count-sql "$count_events" --extra "$extra"
  # 1,000 customer profiles (c0..c999@example.com) for GET /customers/{email} below.
  run "ingest POST /customers (table $n)" http://127.0.0.1:$ingest_port "$ingest" "$db" --connections 64 \
    --script bench/wrk/customer_upsert.lua --count-sql "$count_events" --extra "$extra"
  stop "$ingest"
  start query $query_port "$db"; query=$started
  caught_up $query_port
  ids=bench/out/all-ids.txt
  psql "$db" -XAtqc "SELECT 'log_' || replace(message_id::text, '-', '') FROM query_logs ORDER BY random() LIMIT 2000" > "$ids"
  IDS_FILE=$ids run "query GET /logs/{id} (table $n)" http://127.0.0.1:$query_port "$query" "$db" --script bench/query/get_random.lua --extra "$extra"
  IDS_FILE=$ids SUFFIX=/events run "query GET /logs/{id}/events (table $n)" http://127.0.0.1:$query_port "$query" "$db" \
    --script bench/query/get_random.lua --extra "$extra"
  psql "$db" -XAtqc "SELECT 'r' || i || '@example.com' FROM generate_series(1, 2000) i" > "$ids"
  psql "$db" -XAtqc "SELECT 'c' || i || '@example.com' FROM generate_series(0, 999) i" > "$ids.customers"
  IDS_FILE=$ids.customers PREFIX=/customers/ run "query GET /customers/{email} (table $n)" http://127.0.0.1:$query_port \
    "$query" "$db" --script bench/query/get_random.lua --extra "$extra"
  IDS_FILE=$ids PREFIX=/customers/ SUFFIX=/logs run "query GET /customers/{email}/logs (table $n)" http://127.0.0.1:$query_port \
    "$query" "$db" --script bench/query/get_random.lua --extra "$extra"
  PATH_TO_GET="/v1/Email/" run "query GET /v1/Email/ first page (table $n)" http://127.0.0.1:$query_port "$query" "$db" \
    --script bench/query/get_fixed.lua --extra "$extra"
  PATH_TO_GET="/v1/Email/?BrandId=brand-3&State=delivered" run "query GET /v1/Email/ filtered (table $n)" \
    http://127.0.0.1:$query_port "$query" "$db" --script bench/query/get_fixed.lua --extra "$extra"
  stop "$query"
  start delivery $delivery_port "$db"; delivery=$started
  caught_up $delivery_port
  tem=$(curl -s -u site1:key1 -H 'Content-Type: application/json' http://127.0.0.1:$delivery_port/templates \
    -d '{"name":"Bench","subject":"Token {{Token}}","html":"<p>{{NumPhotos}} photos</p>"}' | sed 's/.*"id":"\(tem_[^"]*\)".*/\1/')
  curl -sf -u site1:key1 -X PUT -H 'Content-Type: application/json' http://127.0.0.1:$delivery_port/v1/Brands/bench \
    -d "{\"Name\":\"Bench\",\"From\":\"bench@bench.test\",\"Templates\":{\"token\":\"$tem\",\"group\":\"$tem\",\"tokenAndGroup\":\"$tem\"}}" >/dev/null
  until curl -sf -u site1:key1 http://127.0.0.1:$delivery_port/v1/Brands/bench >/dev/null; do sleep 0.2; done
  run "delivery POST /v1/Email/ x100 (table $n)" http://127.0.0.1:$delivery_port "$delivery" "$db" --connections 16 \
    --script bench/wrk/v1_email_batch.lua --count-sql "SELECT count(*) FROM events WHERE type = 'message.requested'" \
    --extra "$extra"
  stop "$delivery"
done

echo "== delivery end to end to an SMTP sink (bench/delivery/run.py)" >&2
delivery_out=bench/results/delivery-$stamp.jsonl; : > "$delivery_out"
for sink in aiosmtpd fast; do
  python3 bench/delivery/run.py --binary "$bin/delivery" --requests 60 --sink "$sink" --out "$delivery_out" >&2
done

md=bench/results/run-$stamp.md
{
  echo "# bench/run-all.sh $secs $large — $stamp"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r);" \
    "PostgreSQL $(psql "$url" -XAtqc 'SHOW server_version'), durable (fsync, synchronous_commit on)."
  echo "Rows: one wrk run each; delivery rows count messages (100 a request): durable rows are messages."
  echo
  bench/lib/loadrun.py --markdown "$out"
  echo
  echo "Projection lag (bench/projection/lag.py: append acknowledged by ingest -> listed by query's"
  echo "GET /api/v1/customers/{id}/events, no consistency token; one probe every 20 ms under paced load):"
  echo
  bench/projection/lag.py --markdown "$lag_out"
  echo
  echo "Delivery end to end (bench/delivery/run.py --requests 60: 6,000 messages; the sink's ceiling"
  echo "measured alone first; CPU ms per message over the whole run):"
  echo
  echo "| sink | sink alone msg/s | accepted msg/s | end to end msg/s | CPU ms/msg delivery / PostgreSQL / sink |"
  echo "|---|---|---|---|---|"
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); c = r["cpu_per_1000_end_to_end"]
    print("| %s | %d | %d | %d | %.3f / %.3f / %.3f |" % (r["sink"], r["sink_ceiling_per_second"], r["accepted_per_second"],
          r["end_to_end_per_second"], c["delivery"], c["postgres"], c["sink"]))' "$delivery_out"
} > "$md"
cp "$out" bench/results/latest.jsonl; cp "$md" bench/results/latest.md
cat "$md"
