# Where delivery's CPU goes, by thread, over one whole run of run.py: CPU-ms per 1,000
# messages for each kind of thread (user and system), from /proc/PID/task/*/stat sampled every
# 50 ms until delivery exits (a thread's last sample counts; threads that exit early keep theirs).
#
# Usage: python3 bench/delivery/thread_cpu.py [run.py arguments]
#   e.g. python3 bench/delivery/thread_cpu.py --requests 100 --sink aiosmtpd --pin
# Thread kinds: `-qos.overcommit` are the SMTP sessions' dispatch threads, `oot.default-qos`
# Swift's pool (HTTP handlers, the worker's tasks), `pg-pool-N` the connection pool, `committer-N`
# the event appenders, and one thread per projection runner (its name's last 15 bytes).
import collections
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    args = sys.argv[1:]
    binary = os.path.abspath(args[args.index("--binary") + 1]) if "--binary" in args else \
        os.path.abspath(".build/release/delivery")
    requests = int(args[args.index("--requests") + 1]) if "--requests" in args else 50
    rest = list(args)
    if "--binary" in rest:
        del rest[rest.index("--binary"):rest.index("--binary") + 2]
    run = subprocess.Popen([sys.executable, os.path.join(HERE, "run.py"), "--binary", binary] + rest,
                           stdout=subprocess.PIPE, text=True)
    pid = None
    deadline = time.time() + 120
    while pid is None and time.time() < deadline and run.poll() is None:
        out = subprocess.run(["pgrep", "-f", "-x", binary], capture_output=True, text=True).stdout.split()
        pid = out[0] if out else None
        time.sleep(0.05)
    if pid is None:
        sys.exit("delivery did not start")
    ticks = os.sysconf("SC_CLK_TCK")
    last = {}
    while os.path.exists("/proc/%s" % pid):
        try:
            for tid in os.listdir("/proc/%s/task" % pid):
                try:
                    with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                        stat = f.read()
                except OSError:
                    continue
                name = stat[stat.index("(") + 1:stat.rindex(")")]
                fields = stat[stat.rindex(")") + 2:].split()
                last[tid] = (name, int(fields[11]), int(fields[12]))
        except OSError:
            break
        time.sleep(0.05)
    output = run.communicate()[0]
    print("".join(line + "\n" for line in output.splitlines() if not line.startswith("{")), end="")
    kinds = collections.defaultdict(lambda: [0, 0, 0])
    for name, user, system in last.values():
        kind = kinds[re.sub(r"\d+$", "N", name)]
        kind[0] += user
        kind[1] += system
        kind[2] += 1
    per = 1000.0 / ticks * 1000 / (requests * 100)  # ticks -> CPU-ms per 1,000 messages
    total = sum(u + s for u, s, _ in kinds.values())
    print("delivery, CPU-ms per 1,000 messages: %.0f" % (total * per))
    for name, (user, system, count) in sorted(kinds.items(), key=lambda k: -(k[1][0] + k[1][1])):
        if user + system:
            print("  %-18s %3d threads %6.1f (user %5.1f, system %5.1f)" %
                  (name, count, (user + system) * per, user * per, system * per))


if __name__ == "__main__":
    main()
