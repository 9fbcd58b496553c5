#!/usr/bin/env bash
# The example end to end: a backend and a frontend greeter register through the file backend,
# the frontend calls the backend through discovery, SIGTERM drains and deregisters the backend.
# Run from anywhere; needs sdctl built (`swift build --product sdctl` at the top) for the checks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
sdctl=${SDCTL:-$top/.build/debug/sdctl}
[ -x "$sdctl" ] || { echo "test.sh: $sdctl is missing: swift build --product sdctl at $top" >&2; exit 1; }

swift build --package-path "$here" -Xswiftc -gnone
greeter=$(swift build --package-path "$here" --show-bin-path)/greeter

home=$(mktemp -d)
export SDCTL_HOME=$home
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$home"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

backend_port=$(free_port)
frontend_port=$(free_port)
"$greeter" --name backend --port "$backend_port" --drain 1 & backend=$!
pids+=("$backend")
"$greeter" --name frontend --port "$frontend_port" --calls backend & frontend=$!
pids+=("$frontend")

# Both register once their own /health answers.
"$sdctl" resolve backend frontend --wait-for 1 --timeout 60s
answer=$(get "http://127.0.0.1:$frontend_port/call")
echo "$answer"
[ "$answer" = "frontend called backend: hello from backend" ] || { echo "test.sh: unexpected answer" >&2; exit 1; }

# SIGTERM: the backend deregisters at once, serves through the 1 s drain, then exits 0.
started=$(date +%s%N)
kill -TERM "$backend"
for _ in $(seq 1 50); do
    if ! "$sdctl" resolve backend >/dev/null 2>&1; then break; fi
    sleep 0.1
done
if "$sdctl" resolve backend >/dev/null 2>&1; then echo "test.sh: backend still registered" >&2; exit 1; fi
get "http://127.0.0.1:$backend_port/hello" >/dev/null || { echo "test.sh: backend stopped serving before its drain" >&2; exit 1; }
wait "$backend"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$elapsed_ms" -ge 1000 ] || { echo "test.sh: backend exited after $elapsed_ms ms, before its 1 s drain" >&2; exit 1; }
echo "backend drained and exited 0 after $elapsed_ms ms"

kill -TERM "$frontend"
wait "$frontend"
echo "test.sh: ok"
