#!/usr/bin/env python3
"""Projection lag under sustained ingest: the time from an append being acknowledged by
`ingest` (it answers only after the commit) to the event being visible through `query`.

  lag.py --ingest URL --query URL [--seconds 30] [--interval-ms 20] [--out FILE --name NAME]
         [--count-url DATABASE_URL]
  lag.py --markdown FILE     (a Markdown table of the records in FILE)

While something else drives load (bench/projection/run.sh paces wrk at a target rate), a probe
posts one tracked event every --interval-ms to its own customer id and polls
GET /api/v1/customers/{id}/events (no consistency token) every 0.5 ms until the event is
listed. Prints p50/p90/p99/max of the lag in milliseconds as JSON (and appends it to --out).
"""
import argparse, base64, http.client, json, statistics, subprocess, sys, time, urllib.parse

AUTH = "Basic " + base64.b64encode(b"site1:key1").decode()


def connection(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def markdown(path):
    print("| load | ingest events/s reached | samples | p50 ms | p90 ms | p99 ms | max ms | timeouts |")
    print("|---|---|---|---|---|---|---|---|")
    for line in open(path):
        r = json.loads(line)
        print(f"| {r['name']} | {r.get('ingest_events_per_s', '-')} | {r['samples']} | {r['p50_ms']} | {r['p90_ms']} "
              f"| {r['p99_ms']} | {r['max_ms']} | {r['timeouts']} |")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
        return markdown(sys.argv[2])
    p = argparse.ArgumentParser()
    p.add_argument("--ingest", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--interval-ms", type=float, default=20)
    p.add_argument("--name", default="projection lag")
    p.add_argument("--out")
    p.add_argument("--extra", default="{}")
    p.add_argument("--count-url", help="database URL: report the event table's growth rate during the probe")
    a = p.parse_args()
    ingest, query = connection(a.ingest), connection(a.query)
    count = lambda: int(subprocess.run(["psql", a.count_url, "-XAtqc", "SELECT count(*) FROM events"],
                                       capture_output=True, text=True, check=True).stdout)
    if a.count_url:
        started, rows_before = time.monotonic(), count()
    lags, timeouts = [], 0
    run = f"{time.time_ns():x}"
    end = time.monotonic() + a.seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        cid = f"probe-{run}-{n}"
        body = json.dumps({"name": "probe", "data": {"n": n}})
        ingest.request("POST", f"/api/v1/customers/{cid}/events", body,
                       {"Authorization": AUTH, "Content-Type": "application/json"})
        r = ingest.getresponse(); r.read()
        acknowledged = time.monotonic()
        if r.status // 100 != 2:
            print(f"probe append failed: {r.status}", file=sys.stderr); sys.exit(1)
        deadline = acknowledged + 10
        while True:
            query.request("GET", f"/api/v1/customers/{cid}/events?limit=1", headers={"Authorization": AUTH})
            q = query.getresponse(); q.read()
            now = time.monotonic()
            if q.status == 200:
                lags.append((now - acknowledged) * 1000)
                break
            if now > deadline:
                timeouts += 1
                break
            time.sleep(0.0005)
        time.sleep(max(0, a.interval_ms / 1000 - (time.monotonic() - acknowledged)))
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    record = {"name": a.name, "samples": len(lags), "timeouts": timeouts,
              "p50_ms": round(statistics.median(lags), 2), "p90_ms": round(pick(0.90), 2),
              "p99_ms": round(pick(0.99), 2), "max_ms": round(lags[-1], 2)}
    if a.count_url:
        record["ingest_events_per_s"] = round((count() - rows_before) / (time.monotonic() - started))
    record.update(json.loads(a.extra))
    print(json.dumps(record))
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
