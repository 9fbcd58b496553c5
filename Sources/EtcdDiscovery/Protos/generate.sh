#!/usr/bin/env bash
# Regenerates Sources/EtcdDiscovery/Generated from etcd.proto. Needs protoc (Debian's
# protobuf-compiler) and the two Swift plugins, built from the package versions this project
# depends on:
#   swift build -c release --product protoc-gen-swift          (in a checkout of swift-protobuf)
#   swift build -c release --product protoc-gen-grpc-swift-2   (in a checkout of grpc-swift-protobuf)
# Usage: generate.sh PLUGIN_BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:?usage: generate.sh DIRECTORY_WITH_PROTOC_PLUGINS}
out="$here/../Generated"
protoc --proto_path="$here" \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --swift_out="$out" --swift_opt=Visibility=Internal \
    --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Internal,Server=false \
    "$here/etcd.proto"
echo "generated into $out"
