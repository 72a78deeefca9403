#!/bin/sh
# The release build of the three executables, exactly as the Dockerfile's build stage runs it
# (the Dockerfile calls this script, so the flags cannot drift). CI runs it on the host to prove
# the image's build works:   deploy/build-release.sh [OUTDIR]
# With OUTDIR, the binaries ingest, delivery and query are copied there.
#
# --static-swift-stdlib links the Swift runtime and Foundation statically: the binaries need only
# libc/libstdc++ plus libpq5 and libssl3 at run time (what the runtime image installs).
set -eu
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib
if [ $# -ge 1 ]; then
    bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
    mkdir -p "$1"
    for product in ingest delivery query; do
        cp "$bin/$product" "$1/$product"
    done
fi
