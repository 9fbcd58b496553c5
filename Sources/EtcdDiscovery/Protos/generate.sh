#!/usr/bin/env bash
# Regenerates Sources/EtcdDiscovery/Generated from etcd.proto: the messages only. The calls
# are made by EtcdDiscovery's own gRPC client (Internal/GRPC; docs/etcd.md says why), which
# needs no generated service code. Needs protoc (Debian's protobuf-compiler) and the Swift
# plugin, built from the swift-protobuf version this project depends on:
#   swift build -c release --product protoc-gen-swift          (in a checkout of swift-protobuf)
# Usage: generate.sh PLUGIN_BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: generate.sh DIRECTORY_WITH_PROTOC_PLUGINS}
out="$here/../Generated"
protoc --proto_path="$here" \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out="$out" --swift_opt=Visibility=Internal \
    "$here/etcd.proto"
# sdctl links no Foundation (only FoundationEssentials), which keeps ICU's data out of the
# binary (docs/footprint.md). protoc-gen-swift 1.39 (what this was made with) imports FoundationEssentials when
# it exists; a plugin's bare `import Foundation` is rewritten to that form here, so a
# regeneration can never bring Foundation back.
for file in "$out"/*.swift; do
    if grep -q '^import Foundation$' "$file" && ! grep -q '^import FoundationEssentials$' "$file"; then
        sed -i 's/^import Foundation$/#if canImport(FoundationEssentials)\nimport FoundationEssentials\n#else\nimport Foundation\n#endif/' "$file"
    fi
done
echo "generated into $out"
