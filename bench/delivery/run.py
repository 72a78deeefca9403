#!/usr/bin/env python3
"""Delivery benchmark: messages/s from POST /v1/Email/ (100 messages a request) accepted
durably, end to end to a loopback SMTP sink, and the sink's own ceiling measured alone.

Usage: bench/delivery/run.py [--binary .build/release/delivery] [--requests 50] [--clients 4]
                             [--sessions 8] [--concurrency 32] [--sink fast|aiosmtpd] [--sink-processes 1]
                             [--sink-delay-ms D] [--pin] [--verbose]
`--sink-delay-ms` (aiosmtpd only) makes the sink take D ms to accept each message, like a remote
provider: the ceiling is then bound by latency over the sessions, not by the sink's CPU, and
the end-to-end rate shows whether delivery keeps the same number of sessions busy.
`--pin` gives the sink the last CPU to itself and runs everything else (delivery, PostgreSQL,
the clients) on the others, as if the provider were another machine: the sink then has the
same CPU in the ceiling and in the end-to-end run, and cannot be slowed by delivery's threads.
Reports accepted msg/s, end-to-end msg/s, the sink's ceiling alone (measured first with a
small message, and with aiosmtpd again at the end, delivery stopped, with the very message
delivery sent: `sink_ceiling_same_message_per_second` and `end_to_end_share_of_ceiling`), CPU
seconds per 1,000 messages of delivery, PostgreSQL and the sink (acceptance, whole run, and
after acceptance), and, between acceptance and the last delivery, the sink's rate, the share
of time it was on a CPU (`sink_busy_after_acceptance`: near 1.0 means the sink was the limit)
and the share it waited for one (`sink_waiting_for_cpu_after_acceptance`). `--verbose` prints
a timeline. BENCH_STATEMENTS=1 also prints the top statements from pg_stat_statements.
Two figures that hold up on a noisy shared machine: `end_to_end_share_of_mean_ceiling` (over
the mean of the two ceilings, taken minutes apart) and `cost_ratio_end_to_end` /
`cost_ratio_after_acceptance`, delivery + PostgreSQL CPU per message over the sink's (below 1:
our side costs less per message than the sink; with `--pin` the run can then be sink-bound).
Needs PostgreSQL server binaries (a throwaway cluster is started unless DATABASE_URL is set)
and, for `--sink aiosmtpd`, `pip install aiosmtpd`.
"""
import argparse
import base64
import glob
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on port %d" % port)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid, children=False):
    """utime+stime of a process (plus its waited-for children's when asked), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def postgres_cpu(postmaster):
    """CPU seconds of a cluster: the postmaster, the backends it reaped and the live ones."""
    if postmaster is None:
        return 0.0
    total = cpu_seconds(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                total += cpu_seconds(int(entry))
    return total


def start_postgres(workdir):
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise SystemExit("PostgreSQL server binaries not found; set DATABASE_URL")
    bindir = os.path.dirname(bins[-1])
    as_root = os.getuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    data = os.path.join(workdir, "data")
    subprocess.run(prefix + [bindir + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                             "--locale=C"], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c synchronous_commit=on" % (port, workdir)
    if os.environ.get("BENCH_EXPLAIN_MS"):
        # Plans (with actual rows and times) of statements slower than this, in the server's log,
        # which is copied to $BENCH_EXPLAIN_LOG (default /tmp/delivery-bench-pg.log) at the end.
        opts += (" -c shared_preload_libraries=pg_stat_statements,auto_explain -c auto_explain.log_analyze=on"
                 " -c auto_explain.log_min_duration=%s" % os.environ["BENCH_EXPLAIN_MS"])
    elif os.environ.get("BENCH_STATEMENTS"):
        opts += " -c shared_preload_libraries=pg_stat_statements"
    subprocess.run(prefix + [bindir + "/pg_ctl", "-D", data, "-o", opts, "-l", workdir + "/log", "-w", "start"],
                   check=True, stdout=subprocess.DEVNULL)
    stop = lambda: subprocess.run(prefix + [bindir + "/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(data, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    return "postgresql://postgres@127.0.0.1:%d/postgres" % port, stop, postmaster


def run_delay(pid):
    """Seconds the threads of a process spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return total / 1e9


def tree_cpu(pid):
    """CPU seconds of a process and its live children."""
    total = cpu_seconds(pid)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                total += cpu_seconds(int(entry))
    return total


class Sink:
    """`fast`: bench/delivery/fastsink.py (plain asyncio, N processes); `aiosmtpd`: sink.py."""

    def __init__(self, workdir, kind="fast", processes=1, delay_ms=0, cpu=None, cpu_quota=None, pipelining=False):
        """`cpu`: the CPU the sink runs on alone (--pin), or None. `cpu_quota`: the share of one CPU
        the sink may use (a CPU cgroup), or None. `pipelining`: the aiosmtpd sink offers PIPELINING
        (the fast sink always does)."""
        self.kind = kind
        self.pipelining = pipelining or kind == "fast"
        self.port = free_port()
        self.count_file = os.path.join(workdir, "sink-count")
        self.sample_file = os.path.join(workdir, "sink-sample") if kind == "aiosmtpd" else None
        command = [sys.executable, os.path.join(HERE, "fastsink.py" if kind == "fast" else "sink.py"),
                   "--port", str(self.port), "--count-file", self.count_file]
        if kind == "fast":
            command += ["--processes", str(processes)]
        else:
            command += ["--sample-file", self.sample_file]
            if delay_ms:
                command += ["--delay-ms", str(delay_ms)]
            if pipelining:
                command += ["--pipelining"]
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, preexec_fn=pin)
        self.cgroup = limit_cpu(self.proc.pid, cpu_quota) if cpu_quota else None
        wait_port(self.port)

    def cpu(self):
        """CPU seconds of the sink (the fast sink's worker processes are its children)."""
        return cpu_seconds(self.proc.pid) if self.kind == "aiosmtpd" else tree_cpu(self.proc.pid)

    def sample(self):
        """The first message the sink received, as sent (aiosmtpd sink only), or None."""
        try:
            with open(self.sample_file, "rb") as f:
                return f.read()
        except (OSError, TypeError):
            return None

    def count(self):
        try:
            with open(self.count_file) as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0

    def wait_for(self, target, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count() >= target:
                return time.time()
            time.sleep(0.01)
        raise SystemExit("the sink got %d of %d messages" % (self.count(), target))

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        if self.cgroup:
            os.rmdir(self.cgroup)


def limit_cpu(pid, share):
    """Puts `pid` (a sink with no children yet) in a new CPU cgroup limited to `share` of one CPU;
    returns the cgroup's directory. cgroup v1 (`cpu.cfs_quota_us`) or v2 (`cpu.max`); needs root."""
    period, quota = 100000, int(share * 100000)
    name = "delivery-bench-sink-%d" % pid
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        directory, files = "/sys/fs/cgroup/cpu/" + name, {"cpu.cfs_period_us": period, "cpu.cfs_quota_us": quota}
    else:
        root = "/sys/fs/cgroup"
        with open(os.path.join(root, "cgroup.controllers")) as f:
            if "cpu" not in f.read().split():
                raise SystemExit("--sink-cpu-quota: no CPU cgroup controller here")
        with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
            f.write("+cpu")
        directory, files = os.path.join(root, name), {"cpu.max": "%d %d" % (quota, period)}
    os.mkdir(directory)
    for file, value in files.items():
        with open(os.path.join(directory, file), "w") as f:
            f.write(str(value))
    with open(os.path.join(directory, "cgroup.procs"), "w") as f:
        f.write(str(pid))
    return directory


def blast_raw(args):
    """One connection sending `count` messages without smtplib (cheap client: the ceiling
    measures the sink, not the client). With `pipelining` (the sink offers it) MAIL, RCPT and
    DATA go in one write, as delivery sends them to such a sink."""
    port, count, message, pipelining = args
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if not line:
                    raise SystemExit("the sink closed the connection")
                if line[3:4] != b"-":
                    return line

        reply()
        s.sendall(b"EHLO bench\r\n")
        reply()
        commands = (b"MAIL FROM:<bench@example.com>\r\n", b"RCPT TO:<r@example.com>\r\n", b"DATA\r\n")
        for _ in range(count):
            if pipelining:
                s.sendall(b"".join(commands))
                for _ in commands:
                    # As delivery does: a server that writes each reply of the group separately
                    # with Nagle's algorithm on holds the next one until our ACK, which would
                    # otherwise wait for the delayed-ACK timer (~40 ms a message).
                    s.setsockopt(socket.IPPROTO_TCP, getattr(socket, "TCP_QUICKACK", 12), 1)
                    reply()
            else:
                for command in commands:
                    s.sendall(command)
                    reply()
            s.sendall(message + b".\r\n")
            if not reply().startswith(b"250"):
                raise SystemExit("the sink refused a message")
        s.sendall(b"QUIT\r\n")
        reply()


MESSAGE = (b"From: bench@example.com\r\nTo: r@example.com\r\nSubject: ceiling\r\nMessage-ID: <x@bench>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + b"hello world\r\n" * 20)


def sink_ceiling(sink, connections, per_connection, message=MESSAGE):
    start_count = sink.count()
    start = time.time()
    with Pool(connections) as pool:
        pool.map(blast_raw, [(sink.port, per_connection, message, sink.pipelining)] * connections)
    end = sink.wait_for(start_count + connections * per_connection)
    return connections * per_connection / (end - start)


def set_up_tenant(api, database):
    """The template and brand every bench message uses; pg_stat_statements when BENCH_STATEMENTS."""
    if os.environ.get("BENCH_STATEMENTS"):
        psql = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]
        subprocess.run([psql, database, "-qc", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"],
                       stdout=subprocess.DEVNULL)
    status, template = api.call("POST", "/templates", {"name": "Bench", "subject": "Token {{Token}}",
                                                       "html": "<p>{{NumPhotos}} photos</p>", "text": "{{NumPhotos}} photos"})
    assert status == 200, template
    status, brand = api.call("PUT", "/v1/Brands/bench", {"Name": "Bench", "From": "Bench <b@bench.example>",
                                                         "Templates": {"token": template["id"]}})
    assert status == 200, brand


class API:
    def __init__(self, port):
        self.port = port
        self.auth = "Basic " + base64.b64encode(b"bench:benchkey").decode()
        self.local = threading.local()

    def call(self, method, path, body=None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            payload = r.read()
        except (http.client.HTTPException, OSError):
            self.local.conn = None
            raise
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
            self.local.conn = None
        return r.status, json.loads(payload) if payload else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/delivery")
    parser.add_argument("--requests", type=int, default=50, help="POST /v1/Email/ requests of 100 messages")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--sessions", type=int, default=8, help="SMTP sessions (MAIL_TRANSPORT sessions=)")
    parser.add_argument("--concurrency", type=int, default=32, help="MAIL_CONCURRENCY")
    parser.add_argument("--file-transport", action="store_true",
                        help="write .eml files instead of using SMTP (isolates delivery from the sink)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the sink")
    parser.add_argument("--verbose", action="store_true", help="print projection lag and pool use at acceptance")
    parser.add_argument("--out", help="append the result as one JSON line to this file")
    parser.add_argument("--ceiling-connections", type=int,
                        help="connections of the ceiling's client (default: --sessions, so the sink sees as many "
                             "connections alone as from delivery: aiosmtpd's cost a message falls as they grow)")
    parser.add_argument("--ceiling-messages", type=int, default=500, help="per connection")
    parser.add_argument("--sink", choices=["fast", "aiosmtpd"], default="fast",
                        help="fast: bench/delivery/fastsink.py; aiosmtpd: sink.py")
    parser.add_argument("--sink-processes", type=int, default=1, help="processes of the fast sink")
    parser.add_argument("--sink-delay-ms", type=float, default=0,
                        help="aiosmtpd sink only: ms before each message's 250 (a provider's latency)")
    parser.add_argument("--sink-pipelining", action="store_true",
                        help="the aiosmtpd sink offers PIPELINING (RFC 2920), as providers' relays do; the ceiling "
                             "client then pipelines too")
    parser.add_argument("--sink-cpu-quota", type=float,
                        help="limit the sink to this share of one CPU (a CPU cgroup; needs root): a sink slower "
                             "than delivery, to see whether the end-to-end rate then follows the sink's ceiling")
    parser.add_argument("--pin", action="store_true",
                        help="give the sink the last CPU to itself and run everything else (delivery, PostgreSQL, "
                             "the HTTP and ceiling clients) on the others, as if the provider were another machine")
    args = parser.parse_args()
    sink_cpu = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least two CPUs")
        # This process and everything it starts from now on (PostgreSQL, delivery, the clients)
        # stay off the sink's CPU; only the sink is started on it.
        os.sched_setaffinity(0, cpus[:-1])
        sink_cpu = cpus[-1]
    if args.sink_delay_ms and args.sink != "aiosmtpd":
        parser.error("--sink-delay-ms needs --sink aiosmtpd")

    workdir = tempfile.mkdtemp(prefix="delivery-bench-")
    os.chmod(workdir, 0o777)
    stop_pg = None
    postmaster = None
    database = os.environ.get("DATABASE_URL")
    if not database:
        database, stop_pg, postmaster = start_postgres(workdir)
    sink = Sink(workdir, args.sink, args.sink_processes, args.sink_delay_ms, sink_cpu, args.sink_cpu_quota,
                args.sink_pipelining)
    service = None
    try:
        if args.ceiling_connections is None:
            args.ceiling_connections = args.sessions
        ceiling = sink_ceiling(sink, args.ceiling_connections, args.ceiling_messages)
        print("sink ceiling alone: %.0f messages/s (%s sink, %d connections)" % (ceiling, args.sink, args.ceiling_connections))
        if sink.sample_file and os.path.exists(sink.sample_file):
            os.remove(sink.sample_file)  # the sink keeps the next message it gets: delivery's

        port = free_port()
        env = dict(os.environ, DATABASE_URL=database, PORT=str(port), API_KEYS="bench:benchkey", LOG_LEVEL="error",
                   MAIL_TRANSPORT="smtp://127.0.0.1:%d?tls=none&sessions=%d" % (sink.port, args.sessions),
                   MAIL_CONCURRENCY=str(args.concurrency), MAIL_FROM_DOMAIN="bench.example", DB_POOL_SIZE="16",
                   MASTER_KEY="bench:" + base64.b64encode(os.urandom(32)).decode())
        if args.file_transport:
            outbox = os.path.join(workdir, "outbox")
            os.makedirs(outbox)
            env["MAIL_TRANSPORT"] = "file://" + outbox
            sink.count = lambda: len(os.listdir(outbox))
        service = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL)
        wait_port(port, timeout=60)
        api = API(port)
        set_up_tenant(api, database)
        before = sink.count()
        total = args.requests * 100

        def post(i):
            messages = [{"To": "r%d.%d@example.com" % (i, j), "Type": "token", "BrandId": "bench", "Token": "t%d" % j,
                         "NumPhotos": j} for j in range(100)]
            status, body = api.call("POST", "/v1/Email/", {"Messages": messages})
            assert status == 200 and all(r["Status"] == 200 for r in body["Results"]), body

        def cpu():
            return (cpu_seconds(service.pid), postgres_cpu(postmaster), sink.cpu())

        def client_cpu():
            # This process: the HTTP clients and the 100 ms sampler (it shares delivery's CPUs).
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        cpu_start = cpu()
        client_start = client_cpu()
        load_start = os.getloadavg()[0]
        samples = []  # (time, sink count, sink CPU seconds), every 100 ms until delivered
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                samples.append((time.time(), sink.count(), sink.cpu(), run_delay(sink.proc.pid)))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        start = time.time()
        sampler.start()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post, range(args.requests)))
        accepted = time.time()
        cpu_accepted = cpu()
        client_accepted = client_cpu()
        count_accepted = sink.count()
        if args.verbose:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/metrics")
            for line in conn.getresponse().read().decode().splitlines():
                if line.startswith(("projection_lag", "db_pool", "eventstore_committed")):
                    print("  at acceptance:", line)
            print("  sink count at acceptance:", sink.count() - before)
        try:
            delivered = sink.wait_for(before + total, timeout=args.timeout)
            cpu_delivered = cpu()
            sampling.set()
            sampler.join()
        except SystemExit as e:
            print(e)
            psql = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]
            subprocess.run([psql, database, "-c",
                            "SELECT state, attempts, count(*), min(due_at) - now() AS next_due FROM delivery_outbox "
                            "GROUP BY 1, 2 ORDER BY 1, 2"])
            subprocess.run([psql, database, "-c",
                            "SELECT type, count(*) FROM events GROUP BY 1 ORDER BY 1"])
            subprocess.run([psql, database, "-c", "SELECT * FROM projection_checkpoints"])
            subprocess.run([psql, database, "-c",
                            "SELECT e.tx_id, min(e.position), max(e.position), count(*), "
                            "count(*) FILTER (WHERE o.message_hex IS NULL AND e.type = 'message.requested') AS missing "
                            "FROM events e LEFT JOIN delivery_outbox o ON o.message_hex = substr(e.stream, 9) "
                            "GROUP BY 1 HAVING count(*) FILTER (WHERE o.message_hex IS NULL AND e.type = 'message.requested') > 0 "
                            "ORDER BY 1 LIMIT 20"])
            subprocess.run([psql, database, "-c", "SELECT pg_snapshot_xmin(pg_current_snapshot()), "
                            "(SELECT max(tx_id) FROM events)"])
            subprocess.run([psql, database, "-c",
                            "SELECT data->>'reason' AS reason, count(*) FROM events WHERE type = 'message.failed_to_send' "
                            "GROUP BY 1 ORDER BY 2 DESC LIMIT 5"])
            raise
        if os.environ.get("BENCH_STATEMENTS"):
            psql = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]
            subprocess.run([psql, database, "-c",
                            "SELECT calls, round(total_exec_time) AS ms, round(mean_exec_time::numeric, 3) AS mean, "
                            "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements "
                            "ORDER BY total_exec_time DESC LIMIT 25"])
        result = {
            "messages": total,
            "accepted_per_second": round(total / (accepted - start)),
            "end_to_end_per_second": round(total / (delivered - start)),
            "sink_ceiling_per_second": round(ceiling), "sink": args.sink, "sink_processes": args.sink_processes,
            "sink_delay_ms": args.sink_delay_ms, "sink_pipelining": sink.pipelining,
            "smtp_sessions": args.sessions, "mail_concurrency": args.concurrency, "http_clients": args.clients,
            "binary": args.binary,
            # CPU seconds per 1,000 messages: acceptance phase, then the whole run to the sink.
            "cpu_per_1000_accept": {k: round((b - a) * 1000 / total, 3) for k, a, b in
                                    zip(("delivery", "postgres", "sink"), cpu_start, cpu_accepted)},
            "cpu_per_1000_end_to_end": {k: round((b - a) * 1000 / total, 3) for k, a, b in
                                        zip(("delivery", "postgres", "sink"), cpu_start, cpu_delivered)},
            "client_cpu_per_1000": round((client_accepted - client_start) * 1000 / total, 3),
            "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        }
        # How busy the sink was between acceptance and the last delivery (1.0 = one core, all the
        # time): near 1 means the sink was the limit; well below means it waited for delivery.
        window = [x for x in samples if accepted <= x[0] <= delivered]
        after = before + total - count_accepted
        if after > 0:
            result["cpu_per_1000_after_acceptance"] = {
                k: round((b - a) * 1000 / after, 3) for k, a, b in
                zip(("delivery", "postgres", "sink"), cpu_accepted, cpu_delivered)}
        def cost_ratio(cpu):
            return round((cpu["delivery"] + cpu["postgres"]) / cpu["sink"], 2) if cpu.get("sink") else None
        result["cost_ratio_end_to_end"] = cost_ratio(result["cpu_per_1000_end_to_end"])
        if "cpu_per_1000_after_acceptance" in result:
            result["cost_ratio_after_acceptance"] = cost_ratio(result["cpu_per_1000_after_acceptance"])
        if len(window) >= 2:
            result["sink_busy_after_acceptance"] = round((window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0]), 2)
            result["sink_rate_after_acceptance"] = round((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]))
            result["sink_waiting_for_cpu_after_acceptance"] = round((window[-1][3] - window[0][3]) / (window[-1][0] - window[0][0]), 2)
        if args.verbose:
            print("  timeline (s, messages/s at the sink, sink CPU share):")
            for a, b in zip(samples[::3], samples[3::3]):
                print("   %5.1f %6.0f %5.2f" % (a[0] - start, (b[1] - a[1]) / (b[0] - a[0]), (b[2] - a[2]) / (b[0] - a[0])))
        # The sink's ceiling again, alone (delivery stopped), with the very message delivery sent:
        # the sink's cost grows with a message's lines, so this is the ceiling delivery can reach.
        sample = sink.sample()
        if sample:
            service.terminate()
            service.wait(timeout=30)
            service = None
            same = sink_ceiling(sink, args.ceiling_connections, args.ceiling_messages, sample)
            result["sink_ceiling_same_message_per_second"] = round(same)
            result["sample_message_bytes"] = len(sample)
            result["end_to_end_share_of_ceiling"] = round(result["end_to_end_per_second"] / same, 2)
            result["end_to_end_share_of_mean_ceiling"] = round(result["end_to_end_per_second"] * 2 / (same + ceiling), 2)
            print("sink ceiling alone with delivery's message (%d bytes): %.0f messages/s" % (len(sample), same))
        print("accepted durably: %d messages/s" % result["accepted_per_second"])
        print("end to end to the sink: %d messages/s" % result["end_to_end_per_second"])
        print(json.dumps(result))
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(result) + "\n")
    finally:
        tear_down(service, sink, stop_pg, workdir)


def tear_down(service, sink, stop_pg, workdir):
    """Stops delivery, the sink and the throwaway cluster (keeping its log when BENCH_EXPLAIN_MS
    asked for plans), and removes the work directory."""
    if service:
        service.terminate()
        service.wait(timeout=30)
    if sink:
        sink.stop()
    if stop_pg:
        stop_pg()
    if os.environ.get("BENCH_EXPLAIN_MS") and os.path.exists(workdir + "/log"):
        shutil.copy(workdir + "/log", os.environ.get("BENCH_EXPLAIN_LOG", "/tmp/delivery-bench-pg.log"))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
