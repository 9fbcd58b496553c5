#!/usr/bin/env bash
# Fuzzes the DNS reply decoder with libFuzzer (in the Swift toolchain) and AddressSanitizer.
#   Tests/fuzz.sh                 # 1,000,000 inputs
#   Tests/fuzz.sh --runs N        # N inputs
#   Tests/fuzz.sh --seconds S     # for S seconds
#   Tests/fuzz.sh --debug ...     # an unoptimised fuzzer: builds in about a minute less, runs
#                                 # about half as many inputs a second (CI: --seconds 5 --debug)
# Prints the number of inputs run and of crashes; exits non-zero on a crash, leaving the input
# that crashed in Tests/Fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/Fuzz"

usage() {
    echo "usage: Tests/fuzz.sh [--runs N | --seconds S] [--debug]" >&2
    exit 2
}
limit=(-runs=1000000)
configuration=release
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) [ $# -ge 2 ] || usage; limit=(-runs="$2"); shift 2 ;;
    --seconds) [ $# -ge 2 ] || usage; limit=(-max_total_time="$2"); shift 2 ;;
    --debug) configuration=debug; shift ;;
    *) usage ;;
    esac
done

# The program calls libFuzzer's driver from its own main (Sources/DNSReplyFuzzer/main.swift),
# since SwiftPM links an executable's main under its own name. Linked with the toolchain's
# lld: gold stops with an internal error on this link.
lld="$(dirname "$(command -v swift)")/ld.lld"
[ -x "$lld" ] || { echo "Tests/fuzz.sh: no ld.lld next to swift ($lld)" >&2; exit 1; }
toolset=$(mktemp)
printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' "$lld" > "$toolset"
build=(swift build -c "$configuration" --scratch-path .build-fuzz --toolset "$toolset" -Xswiftc -sanitize=fuzzer,address)
"${build[@]}" >&2
fuzzer=$("${build[@]}" --show-bin-path)/DNSReplyFuzzer
rm -f "$toolset"

corpus=$(mktemp -d)
trap 'rm -rf "$corpus" "$corpus.log"' EXIT
mkdir -p findings
status=0
"$fuzzer" "${limit[@]}" -max_len=65535 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -artifact_prefix=findings/ -print_final_stats=1 "$corpus" seeds 2>"$corpus.log" || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$corpus.log")
crashes=$(find findings -type f | wc -l)
echo "DNS reply decoder: ${runs:-0} inputs, $crashes crash(es), libFuzzer exit $status"
if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -40 "$corpus.log" >&2
    exit 1
fi
