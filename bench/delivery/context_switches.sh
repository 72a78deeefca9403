#!/bin/bash
# Context switches a delivered message costs, by delivery's thread kind and for PostgreSQL, over
# a 4 s window in the middle of a whole run (bench/delivery/run.py --sink aiosmtpd --pin).
#   bench/delivery/context_switches.sh [BINARY=.build/release/delivery]   (REQUESTS=300 by default)
# Reads voluntary/nonvoluntary_ctxt_switches from /proc before and after the window and divides
# by the messages the sink received in it. A voluntary switch is a thread going to sleep (a
# blocking read of an SMTP reply, a wait for a job); a nonvoluntary one is a preemption.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=$(readlink -f "${1:-.build/release/delivery}")
out=$(mktemp)
python3 bench/delivery/run.py --binary "$B" --requests "${REQUESTS:-300}" --sink aiosmtpd --pin > "$out" 2>&1 &
P=""
for _ in $(seq 300); do P=$(pgrep -f -x "$B" | head -1 || true); [ -n "$P" ] && break; sleep 0.1; done
[ -n "$P" ] || { echo "delivery did not start" >&2; cat "$out" >&2; exit 1; }
sleep 2.5
counter=$(tr '\0' '\n' < "/proc/$(pgrep -f count-file | head -1)/cmdline" | grep -A1 -- --count-file | tail -1)
snap() { for t in /proc/"$P"/task/*; do echo "$(cat "$t/comm")|$(grep -E '^(voluntary|nonvoluntary)_ctxt' "$t/status" | awk '{print $2}' | paste -sd' ')"; done; }
pg() { for p in $(pgrep -u postgres postgres); do grep -E '^(voluntary|nonvoluntary)_ctxt' "/proc/$p/status" 2>/dev/null | awk '{print $2}' | paste -sd' '; done | awk '{v+=$1; n+=$2} END {print v+0, n+0}'; }
c0=$(cat "$counter"); snap > "$out.0"; g0=$(pg)
sleep 4
c1=$(cat "$counter"); snap > "$out.1"; g1=$(pg)
wait
python3 - "$((c1 - c0))" "$g0" "$g1" "$out.0" "$out.1" <<'PY'
import collections, re, sys
n = int(sys.argv[1])
print("messages delivered in the window:", n)
def load(path):
    d = collections.defaultdict(lambda: [0, 0])
    for line in open(path):
        name, values = line.rstrip("\n").split("|")
        v, nv = map(int, values.split())
        key = re.sub(r"[0-9]+$", "#", name)
        d[key][0] += v; d[key][1] += nv
    return d
a, b = load(sys.argv[4]), load(sys.argv[5])
total = [0, 0]
for k in sorted(b, key=lambda k: -(b[k][0] - a.get(k, [0, 0])[0])):
    dv, dn = b[k][0] - a.get(k, [0, 0])[0], b[k][1] - a.get(k, [0, 0])[1]
    total[0] += dv; total[1] += dn
    if dv + dn > 0:
        print("  %-22s voluntary %.2f  nonvoluntary %.2f a message" % (k, dv / n, dn / n))
print("delivery: voluntary %.2f  nonvoluntary %.2f a message" % (total[0] / n, total[1] / n))
g0, g1 = list(map(int, sys.argv[2].split())), list(map(int, sys.argv[3].split()))
print("postgres: voluntary %.2f  nonvoluntary %.2f a message" % ((g1[0] - g0[0]) / n, (g1[1] - g0[1]) / n))
PY
grep '^{' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print('run: end to end %d/s, share of the mean ceiling %s' % (d['end_to_end_per_second'], d.get('end_to_end_share_of_mean_ceiling')))"
rm -f "$out" "$out.0" "$out.1"
