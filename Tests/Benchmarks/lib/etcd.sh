# Sourced by compare and check: start_etcd starts one etcd member (Debian's etcd-server) on
# free loopback ports with its data in a temporary directory, exports SDCTL_BENCH_ETCD as its
# client endpoint, and stops it and removes the directory when the script exits.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_etcd() {
    if ! command -v etcd >/dev/null; then
        echo "$(basename "$0"): etcd is not installed (apt-get install etcd-server)" >&2
        exit 1
    fi
    etcd_dir=$(mktemp -d)
    local client peer
    client=$(free_port)
    peer=$(free_port)
    etcd --name bench --data-dir "$etcd_dir/data" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "bench=http://127.0.0.1:$peer" >"$etcd_dir/log" 2>&1 &
    etcd_pid=$!
    trap 'kill "$etcd_pid" 2>/dev/null; wait "$etcd_pid" 2>/dev/null || true; rm -rf "$etcd_dir"' EXIT
    export SDCTL_BENCH_ETCD="127.0.0.1:$client"
    local deadline=$((SECONDS + 20))
    until ETCDCTL_API=3 etcdctl --endpoints "$SDCTL_BENCH_ETCD" endpoint health >/dev/null 2>&1; do
        if ((SECONDS > deadline)) || ! kill -0 "$etcd_pid" 2>/dev/null; then
            echo "$(basename "$0"): etcd did not become healthy:" >&2
            tail -5 "$etcd_dir/log" >&2
            exit 1
        fi
        sleep 0.2
    done
}
