#!/usr/bin/env bash
# Event store append throughput: group commit vs one transaction per event, many concurrent
# appenders of single events, on a durable private cluster. Prints a Markdown table.
#   bench/eventstore.sh [APPENDERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
appenders=${1:-64}; seconds=${2:-10}
scripts/install-deps >/dev/null
swift build -c release --product eventstore-bench >/dev/null
dir=bench/out/pg-eventstore; rm -rf "$dir"
url=$(scripts/pg-cluster start "$dir" 55499)
trap 'scripts/pg-cluster stop "$dir"' EXIT
DATABASE_URL=$url .build/release/eventstore-bench --appenders "$appenders" --seconds "$seconds" --mode both
