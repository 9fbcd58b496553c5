# Shared by .ci/demo, .ci/install and .ci/run (sourced): find Swift, and install the ZooKeeper C client
# sdctl links, or say exactly what is missing. $1 of each function names the calling script.

need_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo ".ci/$1: 'swift' is not on PATH: install Swift 6.1 or newer (swift.org/install) and run again" >&2
        exit 1
    fi
}

# sdctl links the ZooKeeper C client (Debian's libzookeeper-mt-dev) and libyaml (libyaml-dev, for
# kubeconfig files).
need_zookeeper_client() {
    local missing=()
    [ -f /usr/include/zookeeper/zookeeper.h ] || missing+=(libzookeeper-mt-dev)
    [ -f /usr/include/yaml.h ] || missing+=(libyaml-dev)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    else
        echo ".ci/$1: missing Debian packages ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
}
