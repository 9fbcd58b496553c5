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
    /// Set when the members serve clients over TLS and require a client certificate.
    public let certificates: TestCertificates?
    private let authTokenTTL: Int?
    private let directory: TemporaryDirectory
    private let processes = ServerProcesses()
    private let credentials = Mutex<String?>(nil)

    /// `host:port,...` of every member, as a target's authority.
    public var endpoints: String { members.map(\.endpoint).joined(separator: ",") }

    /// Starts `count` members as one cluster. `tls`: clients must speak TLS and show a certificate
    /// signed by ``certificates``' CA. `authTokenTTL`: seconds a simple auth token lives.
    /// Runs `body` with `count` members started as one cluster and stops them afterwards,
    /// whatever happens.
    public static func with<T>(
        count: Int = 1, tls: Bool = false, authTokenTTL: Int? = nil, timeout: Duration = .seconds(60),
        _ body: (EtcdServers) async throws -> T
    ) async throws -> T {
        let servers = try await start(count: count, tls: tls, authTokenTTL: authTokenTTL, timeout: timeout)
        defer { servers.stop() }
        return try await body(servers)
    }

    public static func start(
        count: Int = 1, tls: Bool = false, authTokenTTL: Int? = nil, timeout: Duration = .seconds(60)
    ) async throws -> EtcdServers {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") else {
            throw ServerProcesses.Unavailable(
                "etcd is not installed: apt-get install etcd-server (needed by this test)")
        }
        let ports = try FreePorts.take(count * 2)
        let members = (0..<count).map {
            Member(name: "m\($0 + 1)", clientPort: ports[$0 * 2], peerPort: ports[$0 * 2 + 1])
        }
        let directory = TemporaryDirectory("sdctl-etcd")
        let certificates: TestCertificates?
        do {
            certificates = tls ? try await TestCertificates.make(in: directory.path) : nil
        } catch {
            directory.remove()
            throw error
        }
        let servers = EtcdServers(
            members: members, certificates: certificates, authTokenTTL: authTokenTTL, directory: directory)
        do {
            for member in members { try servers.launch(member) }
            try await servers.waitUntilHealthy(timeout: timeout)
        } catch {
            servers.stop()
            throw error
        }
        return servers
    }

    private init(
        members: [Member], certificates: TestCertificates?, authTokenTTL: Int?, directory: TemporaryDirectory
    ) {
        self.members = members
        self.certificates = certificates
        self.authTokenTTL = authTokenTTL
        self.directory = directory
    }

    deinit { stop() }

    /// Starts a member: a new cluster the first time, its existing data after a stop.
    private func launch(_ member: Member, existing: Bool = false) throws {
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let scheme = certificates == nil ? "http" : "https"
        var arguments = [
            "--name", member.name, "--data-dir", "\(directory.path)/\(member.name)",
            "--listen-client-urls", "\(scheme)://127.0.0.1:\(member.clientPort)",
            "--advertise-client-urls", "\(scheme)://127.0.0.1:\(member.clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
            "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error",
        ]
        if let certificates {
            arguments += [
                "--cert-file", certificates.serverCertificate, "--key-file", certificates.serverKey,
                "--trusted-ca-file", certificates.caFile, "--client-cert-auth",
            ]
        }
        if let authTokenTTL { arguments += ["--auth-token-ttl", String(authTokenTTL)] }
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
            while (try? await etcdctl(["endpoint", "health", "--endpoints", member.endpoint]))?.contains(
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

    /// Freezes one member (SIGSTOP): it keeps its sockets but answers nobody, peers or clients.
    public func freeze(member name: String) {
        processes.signal(name, SIGSTOP)
    }

    /// Lets a frozen member go on (SIGCONT).
    public func thaw(member name: String) {
        processes.signal(name, SIGCONT)
    }

    /// Starts a stopped member again (same data) and waits until it is healthy.
    public func restart(member name: String) async throws {
        try launch(members.first { $0.name == name }!, existing: true)
        try await waitUntilHealthy()
    }

    /// Runs etcdctl (API v3) against the running members, off the cooperative pool, and
    /// returns stdout and stderr; throws when it fails.
    @discardableResult
    public func etcdctl(_ arguments: [String]) async throws -> String {
        // The running members only: etcdctl 3.4 stays on a dead first endpoint until its
        // deadline rather than moving on.
        let running = processes.names
        let live = members.filter { running.contains($0.name) }.map(\.endpoint).joined(separator: ",")
        var options = arguments.contains("--endpoints") ? [] : ["--endpoints", live]
        if let certificates {
            options += [
                "--cacert", certificates.caFile, "--cert", certificates.clientCertificate, "--key",
                certificates.clientKey,
            ]
        }
        if let user = credentials.withLock({ $0 }) { options += ["--user", user] }
        let environment = ProcessInfo.processInfo.environment.merging(["ETCDCTL_API": "3"]) { $1 }
        let command = options + arguments
        let (status, output) = try await offPool {
            try ServerProcesses.run("/usr/bin/etcdctl", command, environment: environment)
        }
        guard status == 0 else {
            throw ServerProcesses.Unavailable("etcdctl \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }

    /// Adds `root` with `password` and turns authentication on; etcdctl calls from here on log in.
    public func enableAuthentication(password: String) async throws {
        for step in [["user", "add", "root:\(password)"], ["auth", "enable"]] {
            let output = try await etcdctl(step)
            guard output.contains("created") || output.contains("Enabled") else {
                throw ServerProcesses.Unavailable("etcdctl \(step.joined(separator: " ")): \(output)")
            }
        }
        credentials.withLock { $0 = "root:\(password)" }
    }

    /// The name of the running member that is the leader, once the running members agree on one.
    public func leader(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            // `endpoint status` prints: endpoint, id, version, db size, is leader, is learner, ...
            let running = processes.names
            var leaders: [Member] = []
            for member in members where running.contains(member.name) {
                let status =
                    (try? await etcdctl(["endpoint", "status", "--endpoints", member.endpoint])) ?? ""
                let fields = status.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if fields.count > 4 && fields[0] == member.endpoint && fields[4] == "true" {
                    leaders.append(member)
                }
            }
            if leaders.count == 1 { return leaders[0].name }
            guard ContinuousClock.now < deadline else {
                throw ServerProcesses.Unavailable("no etcd leader within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops every member and removes the directory. Idempotent.
    public func stop() {
        processes.killAll()
        directory.remove()
    }
}
