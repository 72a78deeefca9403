#!/usr/bin/env python3
"""What accepting costs, without sending: POST /v1/Email/ (100 messages a request) with the
outbox worker held back, so delivery only validates, seals, appends and projects.

Usage: bench/delivery/accept_only.py [--binary .build/release/delivery] [--requests 50] [--rounds 5]
                                     [--clients 4] [--cpus 0] [--then-send]
Another session holds the outbox worker's advisory lock, so delivery's worker stands by and
nothing is sent; everything else (HTTP, validation, sealing, the `requested` append, every
projection) runs as in `run.py`. Each round posts `--requests` requests, then waits until the
outbox projection has a row for every message; it reports accepted msg/s and the CPU of
delivery and of PostgreSQL per 1,000 messages over the round (medians over the rounds). With no
sink these figures are steadier than run.py's, so they show changes on the acceptance side;
the worker's own cost is run.py's whole-run figure minus this one. `--cpus 0` runs everything
on CPU 0, as run.py --pin does for our side.
`--then-send`: an aiosmtpd sink (on the last CPU, alone) is the transport; once every round is
accepted the lock is released and the worker sends the whole backlog: the drain's rate, and
the CPU of delivery, PostgreSQL and the sink per 1,000 messages sent, are the worker's own
(`worker_cost_ratio`: delivery + PostgreSQL over the sink). PERF_WORKER=file records delivery
with perf during the drain.
BENCH_STATEMENTS=1 also prints the top statements from pg_stat_statements; BENCH_EXPLAIN_MS as in
run.py.
Needs PostgreSQL server binaries (a throwaway cluster is started unless DATABASE_URL is set).
"""
import argparse
import base64
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (API, Sink, cpu_seconds, free_port, postgres_cpu, set_up_tenant, start_postgres, tear_down,  # noqa: E402
                 wait_port)


def outbox_lock_key():
    """OutboxWorker.lockKey: FNV-1a 64 of "delivery:outbox", as a signed bigint."""
    h = 0xcbf29ce484222325
    for b in b"delivery:outbox":
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/delivery")
    parser.add_argument("--requests", type=int, default=50, help="requests of 100 messages per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--cpus", help="CPUs for everything (comma-separated), e.g. 0")
    parser.add_argument("--then-send", action="store_true", help="then let the worker send the backlog to a sink")
    args = parser.parse_args()
    sink_cpu = None
    if args.then_send:
        sink_cpu = sorted(os.sched_getaffinity(0))[-1]
    if args.cpus:
        os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])

    workdir = tempfile.mkdtemp(prefix="accept-bench-")
    os.chmod(workdir, 0o777)
    stop_pg = None
    database = os.environ.get("DATABASE_URL")
    postmaster = None
    if not database:
        database, stop_pg, postmaster = start_postgres(workdir)
    psql = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]
    holder = subprocess.Popen([psql, database, "-qc", "SELECT pg_advisory_lock(%d); SELECT pg_sleep(3600)" % outbox_lock_key()],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PGAPPNAME="bench-outbox-holder"))
    service = None
    sink = Sink(workdir, "aiosmtpd", cpu=sink_cpu) if args.then_send else None
    try:
        time.sleep(0.5)
        port = free_port()
        transport = ("smtp://127.0.0.1:%d?tls=none&sessions=8" % sink.port if sink
                     else "file://" + os.path.join(workdir, "outbox"))
        env = dict(os.environ, DATABASE_URL=database, PORT=str(port), API_KEYS="bench:benchkey", LOG_LEVEL="error",
                   MAIL_TRANSPORT=transport, MAIL_CONCURRENCY="32", MAIL_FROM_DOMAIN="bench.example",
                   DB_POOL_SIZE="16", MASTER_KEY="bench:" + base64.b64encode(os.urandom(32)).decode())
        service = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL)
        wait_port(port, timeout=60)
        api = API(port)
        set_up_tenant(api, database)

        def post(key):
            r, i = key
            messages = [{"To": "r%d.%d.%d@example.com" % (r, i, j), "Type": "token", "BrandId": "bench",
                         "Token": "t%d" % j, "NumPhotos": j} for j in range(100)]
            status, body = api.call("POST", "/v1/Email/", {"Messages": messages})
            assert status == 200 and all(x["Status"] == 200 for x in body["Results"]), body

        def outbox_rows():
            out = subprocess.run([psql, database, "-qtAc", "SELECT count(*) FROM delivery_outbox"],
                                 capture_output=True, text=True)
            return int(out.stdout.strip() or 0)

        rounds = []
        total = 0
        for r in range(args.rounds + 1):  # the first round warms up and is not counted
            d0, p0 = cpu_seconds(service.pid), postgres_cpu(postmaster) if postmaster else 0.0
            start = time.time()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(post, [(r, i) for i in range(args.requests)]))
            accepted = time.time()
            total += args.requests * 100
            deadline = time.time() + 60
            while outbox_rows() < total and time.time() < deadline:
                time.sleep(0.05)
            d1, p1 = cpu_seconds(service.pid), postgres_cpu(postmaster) if postmaster else 0.0
            n = args.requests * 100
            row = {"accepted_per_second": round(n / (accepted - start)),
                   "delivery_cpu_s_per_1000": round((d1 - d0) * 1000 / n * 1000, 1) / 1000,
                   "postgres_cpu_s_per_1000": round((p1 - p0) * 1000 / n * 1000, 1) / 1000}
            if r > 0:
                rounds.append(row)
                print("round %d: %s" % (r, row), flush=True)
        if os.environ.get("BENCH_STATEMENTS"):
            subprocess.run([psql, database, "-c",
                            "SELECT calls, round(total_exec_time) AS ms, round(mean_exec_time::numeric, 3) AS mean, "
                            "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements "
                            "ORDER BY total_exec_time DESC LIMIT 15"])
        med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
        med["ours_cpu_s_per_1000"] = round(med["delivery_cpu_s_per_1000"] + med["postgres_cpu_s_per_1000"], 3)
        print("median: %s" % med)
        if sink:
            before = (cpu_seconds(service.pid), postgres_cpu(postmaster) if postmaster else 0.0, sink.cpu())
            start = time.time()
            # The lock goes with the holder's session (killing psql alone leaves pg_sleep running);
            # the worker takes the lead within its standby interval (1 s).
            subprocess.run([psql, database, "-qtAc", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = 'bench-outbox-holder'"], stdout=subprocess.DEVNULL)
            holder.wait()
            perf = None
            if os.environ.get("PERF_WORKER"):
                while sink.count() == 0 and time.time() < start + 10:
                    time.sleep(0.01)
                perf = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-g", "-p", str(service.pid), "-o",
                                         os.environ["PERF_WORKER"], "--", "sleep", "4"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while sink.count() == 0 and time.time() < start + 10:
                time.sleep(0.005)
            first = time.time()
            end = sink.wait_for(total, timeout=600)
            after = (cpu_seconds(service.pid), postgres_cpu(postmaster) if postmaster else 0.0, sink.cpu())
            if perf:
                perf.wait()
            cpu = {k: round((b - a) / total * 1000, 3) for k, a, b in zip(("delivery", "postgres", "sink"), before, after)}
            print("worker drain: %s" % {
                "messages": total, "sent_per_second": round(total / (end - first)), "cpu_per_1000_sent": cpu,
                "worker_cost_ratio": round((cpu["delivery"] + cpu["postgres"]) / cpu["sink"], 2) if cpu["sink"] else None})
    finally:
        holder.terminate()
        tear_down(service, sink, stop_pg, workdir)


if __name__ == "__main__":
    main()
