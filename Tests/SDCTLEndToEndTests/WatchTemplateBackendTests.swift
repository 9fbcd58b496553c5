import Foundation
import TestSupport
import Testing

/// Issue #29: `watch --template` and `--once` over a real etcd member and the Consul emulator,
/// and a change under one address (`changed`, `~ADDRESS`) from etcd's gRPC naming metadata.
@Suite("sdctl watch --template on etcd and Consul", .serialized)
struct WatchTemplateBackendTests {
    let env = ["NO_COLOR": "1"]
    static let template = "{{#instances}}{{address}} v={{meta.version}}\n{{/instances}}"

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("etcd: renders each change; metadata changed under one address is 'changed' and re-rendered")
    func etcd() async throws {
        let directory = TemporaryDirectory("sdctl-template-etcd")
        defer { directory.remove() }
        let source = directory.path + "/t.mustache"
        let destination = directory.path + "/out.conf"
        let reloads = directory.path + "/reloads"
        try Self.template.write(toFile: source, atomically: true, encoding: .utf8)
        try await EtcdServers.with { servers in
            let target = "etcd://\(servers.endpoints)/svc?layout=grpc"
            let watcher = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "watch", target, "-o", "json", "--template",
                    "\(source):\(destination):echo r >> \(reloads)",
                ],
                environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            try await eventually(.seconds(10), "the empty render") { read(reloads) == "r\n" }
            #expect(read(destination) == "")

            try await servers.etcdctl([
                "put", "svc/10.0.0.9:80", #"{"Op":0,"Addr":"10.0.0.9:80","Metadata":{"version":"1"}}"#,
            ])
            try await eventually(.seconds(10), "v=1 rendered") { read(destination) == "10.0.0.9:80 v=1\n" }
            try await servers.etcdctl([
                "put", "svc/10.0.0.9:80", #"{"Op":0,"Addr":"10.0.0.9:80","Metadata":{"version":"2"}}"#,
            ])
            let line = try await watcher.line { $0.contains(#""changed":[{"address":"10.0.0.9:80""#) }
            #expect(line.contains(#""added":[],"removed":[]"#), "\(line)")
            try await eventually(.seconds(10), "v=2 rendered") { read(destination) == "10.0.0.9:80 v=2\n" }
            try await eventually(.seconds(10), "three reloads") { read(reloads) == "r\nr\nr\n" }

            let once = try await runSDCTL(
                ["watch", target, "--once", "--template", "\(source):\(directory.path)/once.conf"],
                environment: env)
            #expect(once.status == 0, "\(once.stderr)")
            #expect(read(directory.path + "/once.conf") == "10.0.0.9:80 v=2\n")
            let text = try await runSDCTL(["watch", target, "--plain", "--count", "1"], environment: env)
            #expect(text.lines.last == "  10.0.0.9:80", "\(text.lines)")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("Consul emulator: renders a registration and its leaving; --once exits 3 on an empty service")
    func consul() async throws {
        let directory = TemporaryDirectory("sdctl-template-consul")
        defer { directory.remove() }
        let source = directory.path + "/t.mustache"
        let destination = directory.path + "/out.conf"
        try Self.template.write(toFile: source, atomically: true, encoding: .utf8)
        try await ConsulEmulator.with { emulator in
            let target = "consul://\(emulator.address)/web"
            let empty = try await runSDCTL(
                ["watch", target, "--once", "--template", "\(source):\(destination)"], environment: env)
            #expect(empty.status == 3, "\(empty.stderr)")
            #expect(read(destination) == nil)
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "--plain", "--template", "\(source):\(destination)"],
                environment: env)
            try await eventually(.seconds(20), "the empty render") { read(destination) == "" }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8080", "--meta", "version=3"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { !$0.isEmpty }
            try await eventually(.seconds(20), "the registration rendered") {
                read(destination) == "127.0.0.1:8080 v=3\n"
            }
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            try await eventually(.seconds(20), "the leave rendered") { read(destination) == "" }
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }
}
