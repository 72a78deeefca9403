#!/usr/bin/env bash
# CPU and context switches a delivered message, in the middle of a whole run, for delivery,
# PostgreSQL and the sink: `perf stat` attached for WINDOW seconds (default 3) once the run is
# going, divided by the messages the sink received in that window.
#
#   bench/delivery/steady_stat.sh BINARY [run.py arguments...]
#   e.g. bench/delivery/steady_stat.sh .build/release/delivery --sessions 16 --concurrency 64
#
# Needs perf (Debian's linux-perf) and what run.py needs. REQUESTS (default 300) sets the run's
# size so that the window falls well inside it.
set -euo pipefail
binary="$(readlink -f "$1")"
shift
cd "$(dirname "$0")/../.."
window="${WINDOW:-3}"
log=$(mktemp)
python3 bench/delivery/run.py --binary "$binary" --requests "${REQUESTS:-300}" --sink aiosmtpd --pin "$@" >"$log" 2>&1 &
run=$!
for _ in $(seq 300); do pid=$(pgrep -f -x "$binary" | head -1 || true); [ -n "$pid" ] && break; sleep 0.1; done
[ -n "${pid:-}" ] || { echo "delivery did not start"; cat "$log"; exit 1; }
sleep 2.5
sink=$(pgrep -f "count-file" | head -1)
count_file=$(tr '\0' '\n' < /proc/"$sink"/cmdline | grep -A1 -- --count-file | tail -1)
postgres=$(pgrep -x postgres | paste -sd,)
c0=$(cat "$count_file"); t0=$(date +%s.%N)
perf stat -e task-clock,context-switches -x, -o "$log.d" -p "$pid" -- sleep "$window" &
perf stat -e task-clock,context-switches -x, -o "$log.s" -p "$sink" -- sleep "$window" &
perf stat -e task-clock,context-switches -x, -o "$log.p" -p "$postgres" -- sleep "$window" &
wait %2 %3 %4
c1=$(cat "$count_file"); t1=$(date +%s.%N)
wait "$run" || true
python3 - "$log" $((c1 - c0)) "$t0" "$t1" <<'PY'
import sys
log, n, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def read(path):
    values = {}
    for line in open(path):
        p = line.strip().split(",")
        if len(p) > 2 and p[0][:1].isdigit():
            values[p[2]] = float(p[0])
    return values
d, p, s = read(log + ".d"), read(log + ".p"), read(log + ".s")
print("%d msg/s in the window | CPU-ms / context switches a message: delivery %.3f / %.2f, "
      "PostgreSQL %.3f / %.2f, sink %.3f / %.2f | ours over the sink's CPU %.2f" % (
          n / (t1 - t0), d["task-clock"] / n, d["context-switches"] / n, p["task-clock"] / n,
          p["context-switches"] / n, s["task-clock"] / n, s["context-switches"] / n,
          (d["task-clock"] + p["task-clock"]) / s["task-clock"]))
PY
rm -f "$log" "$log".?
