#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for SECONDS (default 20).
#
#   fuzz/run.sh [SECONDS] [TARGET...]     targets: http-parser form json (default: all)
#
# The Shared/JSON, Shared/ThreadSupport and Shared/HTTP sources are compiled straight with swiftc (not SwiftPM; the
# header-only Shared/CSystemCalls module is found through -I) with
# -sanitize=fuzzer,address into .build-fuzz/; a build is reused while no source changed.
# New inputs the fuzzer finds go to .build-fuzz/corpus/<target>/ (the checked-in seeds in
# fuzz/corpus/<target>/ are only read). Crash, leak and timeout reproducers are written to
# .build-fuzz/artifacts/<target>/. Exit status is non-zero when any target fails.
#
# Reproduce one input:  .build-fuzz/bin/<target> path/to/input
set -euo pipefail

seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(http-parser form json)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.build-fuzz"
swiftc="${SWIFTC:-swiftc}"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -use-ld=lld)

mkdir -p "$out/modules" "$out/bin"

# Rebuilds `$1` (an output file) when any later argument is newer, or it does not exist.
stale() {
    local target="$1"
    shift
    [ -e "$target" ] || return 0
    for f in "$@"; do [ "$f" -nt "$target" ] && return 0; done
    return 1
}

build_module() {  # name, sources..., deps via -I
    local name="$1"
    shift
    local object="$out/modules/$name.o"
    # shellcheck disable=SC2086
    if stale "$object" "$@" "$root/fuzz/run.sh" ${extra_deps:-}; then
        echo "==> compiling module $name"
        "$swiftc" "${flags[@]}" -module-name "$name" -wmo -I "$out/modules" -I "$root/Shared/CSystemCalls" \
            -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
            -c -o "$object" "$@"
    fi
}

build_module JSON "$root"/Shared/JSON/*.swift
extra_deps="$root/Shared/CSystemCalls/shim.h" build_module ThreadSupport "$root"/Shared/ThreadSupport/*.swift
extra_deps="$out/modules/JSON.o $out/modules/ThreadSupport.o" build_module HTTP "$root"/Shared/HTTP/*.swift

harness() {
    case "$1" in
    http-parser) echo "$root/fuzz/Sources/HTTPParserFuzzer.swift" ;;
    form) echo "$root/fuzz/Sources/FormDecoderFuzzer.swift" ;;
    json) echo "$root/fuzz/Sources/JSONFuzzer.swift" ;;
    *) echo "unknown target: $1" >&2; exit 2 ;;
    esac
}

for t in "${targets[@]}"; do
    src="$(harness "$t")"
    bin="$out/bin/$t"
    if stale "$bin" "$src" "$out/modules/JSON.o" "$out/modules/ThreadSupport.o" "$out/modules/HTTP.o"; then
        echo "==> linking $t"
        "$swiftc" "${flags[@]}" -module-name "Fuzz_${t//-/_}" -I "$out/modules" -I "$root/Shared/CSystemCalls" \
            "$src" "$out/modules/JSON.o" "$out/modules/ThreadSupport.o" "$out/modules/HTTP.o" -o "$bin"
    fi
done

status=0
for t in "${targets[@]}"; do
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    echo "==> fuzzing $t for ${seconds}s"
    log="$out/$t.log"
    if "$out/bin/$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=5 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
        "$out/corpus/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1; then
        grep -E '^#[0-9]+' "$log" | tail -1
    else
        echo "!! $t FAILED (see $log):"
        grep -E 'ERROR|SUMMARY|Test unit written|Fatal error|==[0-9]+==' "$log" | head -20
        status=1
    fi
done
exit $status
