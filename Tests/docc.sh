#!/usr/bin/env bash
# Builds the DocC documentation of the library products with swift-docc-plugin, and fails on
# any documentation warning (a broken symbol link, an undocumented parameter of a documented
# initializer, a catalog article that names a symbol that is not there).
#   Tests/docc.sh                     # archives in .build/plugins/Swift-DocC/outputs/
#   Tests/docc.sh -Xswiftc -gnone     # build flags for the symbol-graph build (CI passes its own)
# The plugin is a dependency only when SDCTL_DOCC is set (Package.swift), so sdctl's own build
# never resolves or builds it.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(
    Discovery LoadBalancing
    FileDiscovery ZooKeeperDiscovery EtcdDiscovery DNSDiscovery ConsulDiscovery EurekaDiscovery KubernetesDiscovery
    DiscoveryServiceLifecycle DiscoveryMetrics DiscoveryGRPC
)
arguments=()
for target in "${targets[@]}"; do arguments+=(--target "$target"); done

# Each target's symbol graph comes from a build of it and its dependencies; the plugin runs
# `docc convert` on each target's catalog (Sources/TARGET/TARGET.docc) and symbol graph.
SDCTL_DOCC=1 swift package "$@" --disable-sandbox generate-documentation "${arguments[@]}" --warnings-as-errors
echo "Tests/docc.sh: documentation of ${#targets[@]} targets built without warnings (.build/plugins/Swift-DocC/outputs)"
