import Foundation
import Synchronization

/// Real etcd members from Debian's `etcd-server` package, on free loopback ports in a
/// temporary directory: one member or a cluster. Always ``stop()`` them. A missing package is
/// an error, never a skip.
public final class EtcdServers: Sendable {
    public struct Member: Sendable {
        public let name: String
        public let clientPort: Int
        public let peerPort: Int
        public var endpoint: String { "127.0.0.1:\(clientPort)" }
    }

    public let members: [Member]
    private let directory: TemporaryDirectory
    private let processes = ServerProcesses()

    /// `host:port,...` of every member, as a target's authority.
    public var endpoints: String { members.map(\.endpoint).joined(separator: ",") }

    public static func start(count: Int = 1, timeout: Duration = .seconds(60)) async throws -> EtcdServers {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") else {
            throw ServerProcesses.Unavailable(
                "etcd is not installed: apt-get install etcd-server (needed by this test)")
        }
        let ports = try FreePorts.take(count * 2)
        let members = (0..<count).map {
            Member(name: "m\($0 + 1)", clientPort: ports[$0 * 2], peerPort: ports[$0 * 2 + 1])
        }
        let servers = EtcdServers(members: members)
        do {
            for member in members { try servers.launch(member) }
            try await servers.waitUntilHealthy(timeout: timeout)
        } catch {
            servers.stop()
            throw error
        }
        return servers
    }

    private init(members: [Member]) {
        self.members = members
        directory = TemporaryDirectory("sdctl-etcd")
    }

    deinit { stop() }

    /// Starts a member: a new cluster the first time, its existing data after a stop.
    private func launch(_ member: Member, existing: Bool = false) throws {
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        var arguments = [
            "--name", member.name, "--data-dir", "\(directory.path)/\(member.name)",
            "--listen-client-urls", "http://127.0.0.1:\(member.clientPort)",
            "--advertise-client-urls", "http://127.0.0.1:\(member.clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
            "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error",
        ]
        if !existing {
            arguments += [
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(member.peerPort)", "--initial-cluster",
                cluster,
                "--initial-cluster-state", "new",
            ]
        }
        try processes.launch(
            member.name, "/usr/bin/etcd", arguments, log: "\(directory.path)/\(member.name).log")
    }

    /// Waits until `etcdctl endpoint health` passes for every running member.
    public func waitUntilHealthy(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        let running = processes.names
        for member in members where running.contains(member.name) {
            while (try? etcdctl(["endpoint", "health", "--endpoints", member.endpoint]))?.contains(
                "is healthy") != true
            {
                guard ContinuousClock.now < deadline else {
                    throw ServerProcesses.Unavailable(
                        "etcd member \(member.name) not healthy within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Stops one member abruptly.
    public func stop(member name: String) {
        processes.kill(name)
    }

    /// Starts a stopped member again (same data) and waits until it is healthy.
    public func restart(member name: String) async throws {
        try launch(members.first { $0.name == name }!, existing: true)
        try await waitUntilHealthy()
    }

    /// Runs etcdctl (API v3) against the running members and returns stdout and stderr.
    @discardableResult
    public func etcdctl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcdctl")
        let hasEndpoints = arguments.contains("--endpoints")
        process.arguments = (hasEndpoints ? [] : ["--endpoints", endpoints]) + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ETCDCTL_API"] = "3"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    /// Stops every member and removes the directory. Idempotent.
    public func stop() {
        processes.killAll()
        directory.remove()
    }
}
