#!/usr/bin/env bash
# Fuzzes the parsers of untrusted bytes with libFuzzer (in the Swift toolchain) and
# AddressSanitizer, each fuzzer in turn: the DNS reply decoder, the etcd client's gRPC
# connection (swift-nio-http2 and our handler, fed a hostile server's bytes), the HTTP
# backends' answers (Consul's health entries, Eureka's instances), and the Kubernetes backend's
# kubeconfig files, watch lines, list pages and exec plugins' output, and the JSON of Curator's
# layout on ZooKeeper and etcd's gRPC naming layout, and multicast DNS's querier and responder fed
# runs of packets.
#   Tests/fuzz.sh                 # 1,000,000 inputs each
#   Tests/fuzz.sh --runs N        # N inputs each
#   Tests/fuzz.sh --seconds S     # for S seconds each
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

# Each program calls libFuzzer's driver from its own main (Sources/*/main.swift),
# since SwiftPM links an executable's main under its own name. Linked with the toolchain's
# lld: gold stops with an internal error on this link.
lld="$(dirname "$(command -v swift)")/ld.lld"
[ -x "$lld" ] || { echo "Tests/fuzz.sh: no ld.lld next to swift ($lld)" >&2; exit 1; }
toolset=$(mktemp)
printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' "$lld" > "$toolset"
build=(swift build -c "$configuration" --scratch-path .build-fuzz --toolset "$toolset" -Xswiftc -sanitize=fuzzer,address)
"${build[@]}" >&2
bin=$("${build[@]}" --show-bin-path)
rm -f "$toolset"

status=0
# fuzz NAME TARGET MAX_LEN: runs one fuzzer over a fresh corpus started from seeds/NAME.
fuzz() {
    local name=$1 target=$2 max_len=$3 corpus code=0
    corpus=$(mktemp -d)
    "$bin/$target" "${limit[@]}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
        -artifact_prefix=findings/ -print_final_stats=1 "$corpus" "seeds/$name" 2>"$corpus.log" || code=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$corpus.log")
    crashes=$(find findings -type f | wc -l)
    echo "$target: ${runs:-0} inputs, $crashes crash(es) so far, libFuzzer exit $code"
    if [ "$code" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        tail -40 "$corpus.log" >&2
        status=1
    fi
    rm -rf "$corpus" "$corpus.log"
}
mkdir -p findings
fuzz dns DNSReplyFuzzer 65535
fuzz grpc GRPCConnectionFuzzer 65536
fuzz http HTTPAnswerFuzzer 262144
fuzz k8s KubernetesFuzzer 262144
fuzz layouts LayoutFuzzer 65536
fuzz mdns MDNSFuzzer 65536
exit $status
