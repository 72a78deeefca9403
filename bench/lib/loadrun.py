#!/usr/bin/env python3
"""One measured load run: wrk against a URL while the service's and PostgreSQL's CPU time and
the service's peak RSS are read from /proc. Appends one JSON record to --out (a JSON Lines
file) and prints it as a Markdown table row.

  loadrun.py --name NAME --url URL [--script LUA] [--connections 64] [--seconds 10]
             [--threads 2] --service-pid PID [--service-pid PID...] --pg-data DIR --out FILE
             [--count-sql SQL --database-url URL]   (durable rows added during the run)

Figures: requests/s, p50/p99/p99.9 latency (wrk's own histogram, via a done() hook), non-2xx,
CPU seconds per 1,000 requests for the service(s) and for every process of the PostgreSQL
cluster in DIR, and the service's peak RSS (VmHWM).
"""
import argparse, json, os, subprocess, sys, tempfile, time

DONE_HOOK = r'''
done = function(summary, latency, requests)
  io.write(string.format("LOADRUN {\"requests\":%d,\"duration_us\":%d,\"non2xx\":%d,\"socket_errors\":%d,\"p50_us\":%d,\"p99_us\":%d,\"p999_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
'''
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (threads included)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def children_of(parent):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        out.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def postgres_pids(data_dir):
    for candidate in (os.path.join(data_dir, "data", "postmaster.pid"), os.path.join(data_dir, "postmaster.pid")):
        if os.path.exists(candidate):
            with open(candidate) as f:
                master = int(f.readline())
            return [master] + children_of(master)
    return []


def postgres_cpu(data_dir, seen):
    """CPU of the cluster's processes; backends that exit mid-run keep their last reading."""
    for pid in postgres_pids(data_dir):
        seen[pid] = max(seen.get(pid, 0.0), cpu_seconds(pid))
    return sum(seen.values())


def peak_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return None


def count(database_url, sql):
    return int(subprocess.check_output(["psql", database_url, "-XAtqc", sql], text=True).strip())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--script")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--service-pid", type=int, action="append", default=[])
    p.add_argument("--pg-data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count-sql")
    p.add_argument("--database-url")
    p.add_argument("--extra", default="{}", help="JSON object merged into the record")
    a = p.parse_args()

    script = ""
    if a.script:
        with open(a.script) as f:
            script = f.read()
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua.write(script + "\n" + DONE_HOOK)
    lua.close()

    rows_before = count(a.database_url, a.count_sql) if a.count_sql else None
    pg_seen = {}
    service_before = sum(cpu_seconds(pid) for pid in a.service_pid)
    pg_before = postgres_cpu(a.pg_data, pg_seen)
    load_before = os.getloadavg()[0]
    proc = subprocess.Popen(
        ["wrk", f"-t{min(a.threads, a.connections)}", f"-c{a.connections}", f"-d{a.seconds}s", "-s", lua.name, a.url],
        stdout=subprocess.PIPE, text=True)
    # Backends come and go: sample the cluster while the load runs.
    while proc.poll() is None:
        postgres_cpu(a.pg_data, pg_seen)
        time.sleep(0.5)
    output = proc.stdout.read()
    os.unlink(lua.name)
    service_after = sum(cpu_seconds(pid) for pid in a.service_pid)
    pg_after = postgres_cpu(a.pg_data, pg_seen)
    result = next((json.loads(line[len("LOADRUN "):]) for line in output.splitlines() if line.startswith("LOADRUN ")), None)
    if result is None:
        sys.exit("wrk printed no result:\n" + output)

    requests = result["requests"]
    seconds = result["duration_us"] / 1e6
    record = {
        "name": a.name, "connections": a.connections, "seconds": round(seconds, 2),
        "requests_per_s": round(requests / seconds, 1), "requests": requests,
        "non2xx": result["non2xx"], "socket_errors": result["socket_errors"],
        "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000, "p999_ms": result["p999_us"] / 1000,
        "service_cpu_s_per_1k": round((service_after - service_before) / max(requests, 1) * 1000, 4),
        "postgres_cpu_s_per_1k": round((pg_after - pg_before) / max(requests, 1) * 1000, 4),
        "service_peak_rss_mb": round(max((peak_rss_mb(pid) or 0) for pid in a.service_pid), 1) if a.service_pid else None,
        "load_average": round(load_before, 2), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if rows_before is not None:
        record["durable_rows"] = count(a.database_url, a.count_sql) - rows_before
        record["ok_responses"] = requests - result["non2xx"]
    record.update(json.loads(a.extra))
    with open(a.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(markdown_row(record))


COLUMNS = [("name", "load"), ("connections", "conns"), ("requests_per_s", "req/s"), ("p50_ms", "p50 ms"),
           ("p99_ms", "p99 ms"), ("p999_ms", "p99.9 ms"), ("non2xx", "non-2xx"),
           ("service_cpu_s_per_1k", "service CPU s/1k"), ("postgres_cpu_s_per_1k", "PostgreSQL CPU s/1k"),
           ("service_peak_rss_mb", "peak RSS MB"), ("durable_rows", "durable rows"), ("ok_responses", "2xx"),
           ("load_average", "load")]


def markdown_header():
    return "| " + " | ".join(c[1] for c in COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


def markdown_row(r):
    return "| " + " | ".join("-" if r.get(k) is None else str(r.get(k)) for k, _ in COLUMNS) + " |"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
        print(markdown_header())
        with open(sys.argv[2]) as f:
            for line in f:
                print(markdown_row(json.loads(line)))
    else:
        main()
