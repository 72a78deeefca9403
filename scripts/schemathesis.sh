#!/usr/bin/env bash
# Property-based API testing with Schemathesis (from PyPI) against docs/openapi.yaml and the
# three services running for real (debug build, a private PostgreSQL cluster, the nginx gateway
# that puts the whole API on one port, as in deploy/). Checks: no 5xx, every status code and
# content type documented, every response body matching its schema.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]     (default 25 per operation; CI uses the default)
#
# Needs a built tree (`swift build`) and scripts/install-deps. Exit status: Schemathesis's.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-25}
command -v schemathesis >/dev/null || python3 -m pip install -q 'schemathesis>=4,<5'

work=$(mktemp -d /tmp/schemathesis.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg-cluster stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=$(scripts/pg-cluster start "$work/pg" 55497)
export API_KEYS=site1:key1,site2:key2 LOG_LEVEL=error MASTER_KEY="st1:$(openssl rand -base64 32)"
export MAIL_TRANSPORT="file://$work/outbox"
bin=$(swift build --show-bin-path)
PORT=18181 "$bin/ingest" & pids+=($!)
PORT=18182 "$bin/delivery" & pids+=($!)
PORT=18183 "$bin/query" & pids+=($!)
INGEST_ADDR=127.0.0.1:18181 DELIVERY_ADDR=127.0.0.1:18182 QUERY_ADDR=127.0.0.1:18183 LISTEN=127.0.0.1:18180 \
  deploy/nginx/render.sh "$work/nginx" >/dev/null
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -p "$work/nginx" -e "$work/nginx/logs/error.log" -c "$work/nginx/nginx.conf" -g 'daemon off;' & pids+=($!)
for port in 18181 18182 18183 18180; do
  for _ in $(seq 1 300); do
    curl -fso /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
  done
done

# /metrics and /readyz are per service (each replica's own), not routed by the gateway.
status=0
schemathesis run docs/openapi.yaml --url http://127.0.0.1:18180 \
  -H "Authorization: Basic $(printf site1:key1 | base64)" \
  --exclude-path /metrics --exclude-path /readyz \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" --workers 1 --seed 1 --no-color || status=$?
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a service died during the run"; status=1; }
done
exit $status
