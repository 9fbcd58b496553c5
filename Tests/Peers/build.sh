#!/usr/bin/env bash
# Builds the interop tests' peers ahead of the test run, into .build/peers/: the Apache Curator
# program (javac) and etcd's gRPC naming program (go build against Debian's etcd sources).
# Tests/TestSupport uses what is there when it is newer than its sources, and builds it itself
# otherwise. .ci/run calls this before `swift test`: compiling in the middle of the test run's
# busy start (javac and go build take about 20 s of CPU) starved the timing tests beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/peers
mkdir -p "$out/curator" "$out/etcd-naming/src/etcdnaming"
jars=(curator-x-discovery curator-recipes curator-framework curator-client zookeeper zookeeper-jute
    jackson-databind jackson-core jackson-annotations guava slf4j-api slf4j-nop)
classpath=$(printf '/usr/share/java/%s.jar:' "${jars[@]}")
javac -nowarn -d "$out/curator" -cp "${classpath%:}" Tests/Peers/curator/CuratorPeer.java \
    Tests/Peers/curator/org/springframework/cloud/zookeeper/discovery/ZookeeperInstance.java
cp Tests/Peers/etcd-naming/main.go "$out/etcd-naming/src/etcdnaming/"
work=$(cd "$out/etcd-naming" && pwd)
(cd "$work/src/etcdnaming" && GOPATH="$work:/usr/share/gocode" GO111MODULE=off GOCACHE="$work/cache" GOFLAGS= \
    go build -o "$work/etcd-naming" .)
echo "Tests/Peers/build.sh: built $out/curator and $out/etcd-naming/etcd-naming"
