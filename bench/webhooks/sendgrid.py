#!/usr/bin/env python3
"""SendGrid webhook benchmark: signed batches of SendGrid events posted to
POST /webhooks/sendgrid/{site} over several connections; reports events/s accepted durably
and checks that the events table holds exactly the accepted events.

Usage: bench/webhooks/sendgrid.py [--binary .build/release/delivery] [--batches 40]
                                  [--events 1000] [--connections 4] [--matched 0.5]
Every batch is signed beforehand (ECDSA P-256 over timestamp + body, as SendGrid signs), so
the timed part is only the posting. `--matched` is the share of events that name a log which
exists (seeded through POST /v1/Email/ with the file transport before timing): those become
`message.provider_event` on the log's stream, the others `webhook.unmatched`; one event in
50 is a bounce, which also adds a `suppression.added`. Needs PostgreSQL server binaries (a
throwaway cluster is started unless DATABASE_URL is set) and the Python `cryptography` package.
"""
import argparse
import base64
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "delivery"))
import run as common  # noqa: E402  (the delivery bench's cluster, port and CPU helpers)

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

SITE = "bench"


def psql_count(database, sql):
    psql = shutil.which("psql") or (sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]
    out = subprocess.run([psql, database, "-tAc", sql], capture_output=True, text=True, check=True).stdout
    return int(out.strip() or 0)


def sendgrid_event(kind, log_id, n):
    e = {"email": "r%d@example.com" % n, "timestamp": int(time.time()), "event": kind,
         "sg_event_id": str(uuid.uuid4()), "sg_message_id": "sg%d.filter0001" % n, "category": ["bench"],
         "smtp-id": "<%s@bench>" % uuid.uuid4().hex}
    if log_id:
        e["log_id"] = log_id
    if kind == "bounce":
        e.update({"type": "bounce", "reason": "550 5.1.1 no such user", "status": "5.1.1"})
    if kind == "click":
        e["url"] = "https://example.com/x"
    return e


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/delivery")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--events", type=int, default=1000, help="events per batch")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--matched", type=float, default=0.5, help="share of events naming an existing log")
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    workdir = tempfile.mkdtemp(prefix="webhook-bench-")
    os.chmod(workdir, 0o777)
    config = os.path.join(workdir, "webhooks.json")
    with open(config, "w") as f:
        json.dump({SITE: {"sendgrid": {"public_key": base64.b64encode(public_der).decode()}}}, f)
    os.chmod(config, 0o644)
    stop_pg = None
    postmaster = None
    database = os.environ.get("DATABASE_URL")
    if not database:
        database, stop_pg, postmaster = common.start_postgres(workdir)
    service = None
    try:
        port = common.free_port()
        outbox = os.path.join(workdir, "outbox")
        os.makedirs(outbox)
        env = dict(os.environ, DATABASE_URL=database, PORT=str(port), API_KEYS="%s:benchkey" % SITE,
                   LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "error"), WEBHOOKS_CONFIG=config, MAIL_TRANSPORT="file://" + outbox,
                   MAIL_FROM_DOMAIN="bench.example", DB_POOL_SIZE="16",
                   MASTER_KEY="bench:" + base64.b64encode(os.urandom(32)).decode())
        # BENCH_LOG_LEVEL=warning shows the service's log (for example why a batch was refused).
        service = subprocess.Popen([args.binary], env=env,
                                   stdout=sys.stderr if os.environ.get("BENCH_LOG_LEVEL") else subprocess.DEVNULL)
        common.wait_port(port, timeout=60)
        api = common.API(port)
        api.auth = "Basic " + base64.b64encode(("%s:benchkey" % SITE).encode()).decode()

        # Logs for the matched share: sent through the file transport before timing.
        logs = []
        wanted = int(args.batches * args.events * args.matched)
        if wanted:
            status, template = api.call("POST", "/templates", {"name": "Bench", "subject": "s", "html": "<p>x</p>"})
            assert status == 200, template
            status, brand = api.call("PUT", "/v1/Brands/bench", {"Name": "Bench", "From": "Bench <b@bench.example>",
                                                                 "Templates": {"token": template["id"]}})
            assert status == 200, brand
            while len(logs) < wanted:
                n = min(100, wanted - len(logs))
                status, body = api.call("POST", "/v1/Email/", {"Messages": [
                    {"To": "r%d@example.com" % (len(logs) + j), "Type": "token", "BrandId": "bench", "Token": "t", "NumPhotos": 1}
                    for j in range(n)]})
                assert status == 200 and all(r["Status"] == 200 for r in body["Results"]), body["Results"][:2]
                logs += ["log_" + r["MessageId"].replace("-", "") for r in body["Results"]]
            deadline = time.time() + 120
            while len(os.listdir(outbox)) < wanted and time.time() < deadline:
                time.sleep(0.1)

        # Sign every batch beforehand.
        kinds = ["delivered"] * 30 + ["open"] * 12 + ["click"] * 6 + ["processed"] + ["bounce"]
        bodies = []
        n = 0
        for _ in range(args.batches):
            events = []
            for _ in range(args.events):
                log = logs[n % len(logs)] if logs and n % 100 < args.matched * 100 else None
                events.append(sendgrid_event(kinds[n % len(kinds)], log, n))
                n += 1
            random.shuffle(events)
            body = json.dumps(events, separators=(",", ":")).encode()
            timestamp = str(int(time.time()))
            signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            bodies.append((body, timestamp, base64.b64encode(signature).decode()))
        bounces = sum(1 for i in range(n) if kinds[i % len(kinds)] == "bounce")

        local = threading.local()
        retries = []

        def post(item):
            body, timestamp, signature = item
            # Like SendGrid, post again after a refusal (503) or a dropped connection.
            for attempt in range(5):
                conn = getattr(local, "conn", None)
                if conn is None:
                    conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                try:
                    conn.request("POST", "/webhooks/sendgrid/" + SITE, body=body, headers={
                        "Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": signature,
                        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp})
                    r = conn.getresponse()
                    payload = json.loads(r.read() or b"{}")
                except (http.client.HTTPException, OSError) as e:
                    local.conn = None
                    retries.append(repr(e))
                    time.sleep(0.2)
                    continue
                if r.status == 200:
                    return payload
                retries.append(r.status)
                time.sleep(0.2)
            raise SystemExit("a batch was refused 5 times: %r" % retries[-5:])

        before = psql_count(database, "SELECT count(*) FROM events")
        cpu_start = (common.cpu_seconds(service.pid), common.postgres_cpu(postmaster))
        load = os.getloadavg()[0]
        start = time.time()
        with ThreadPoolExecutor(args.connections) as pool:
            answers = list(pool.map(post, bodies))
        elapsed = time.time() - start
        cpu_end = (common.cpu_seconds(service.pid), common.postgres_cpu(postmaster))
        total = args.batches * args.events
        # A retried batch that had landed comes back as duplicates: count what each answer stored.
        attached = sum(a.get("attached", 0) for a in answers)
        unmatched = sum(a.get("unmatched", 0) for a in answers)
        suppressions = sum(a.get("suppressions", 0) for a in answers)
        duplicates = sum(a.get("duplicates", 0) for a in answers)
        stored = psql_count(database, "SELECT count(*) FROM events") - before
        durable = attached + unmatched + suppressions
        result = {
            "events": total, "batches": args.batches, "events_per_batch": args.events, "connections": args.connections,
            "accepted_events_per_second": round(total / elapsed),
            "batches_per_second": round(args.batches / elapsed, 1),
            "attached": attached, "unmatched": unmatched, "suppressions": suppressions, "bounces_sent": bounces, "retried_posts": len(retries), "retry_reasons": sorted(set(map(str, retries)))[:5],
            "rows_appended": stored, "rows_expected": durable, "duplicates": duplicates,
            "all_durable": stored == durable and attached + unmatched + duplicates == total,
            "cpu_per_1000_events": {"delivery": round((cpu_end[0] - cpu_start[0]) * 1000 / total, 3),
                                    "postgres": round((cpu_end[1] - cpu_start[1]) * 1000 / total, 3)},
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
        }
        print("accepted durably: %d SendGrid events/s (%d batches of %d, %d connections)" % (
            result["accepted_events_per_second"], args.batches, args.events, args.connections))
        print("events table: %d rows appended, %d expected (%s)" % (
            stored, durable, "ok" if result["all_durable"] else "MISMATCH"))
        print(json.dumps(result))
        if not result["all_durable"]:
            sys.exit(1)
    finally:
        if service:
            service.terminate()
            service.wait(timeout=30)
        if stop_pg:
            stop_pg()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
