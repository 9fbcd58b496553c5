import Foundation

/// A real authoritative DNS server, Knot DNS from Debian's `knot` package, on a free loopback
/// port (127.0.0.1 and ::1) in a temporary directory, serving the zones a test gives it.
/// Records change through `knotc` zone transactions, which Knot applies at once.
///
/// Its zones accept RFC 2136 updates from loopback. Besides the test's zones it serves `broken.test`, whose zone file does not parse: Knot
/// answers SERVFAIL for it. For names outside every zone it answers REFUSED.
public final class KnotServer: Sendable {
    public let port: Int
    private let directory: TemporaryDirectory
    private let processes = ServerProcesses()
    private var configuration: String { "\(directory.path)/knot.conf" }

    /// `127.0.0.1:port`.
    public var address: String { "127.0.0.1:\(port)" }

    /// Runs `body` with a server serving `zones` (origin -> zone file text) and stops it
    /// afterwards, whatever happens.
    public static func with<T>(
        zones: [String: String], timeout: Duration = .seconds(30), _ body: (KnotServer) async throws -> T
    ) async throws -> T {
        let server = try await start(zones: zones, timeout: timeout)
        defer { server.stop() }
        return try await body(server)
    }

    public static func start(zones: [String: String], timeout: Duration = .seconds(30)) async throws
        -> KnotServer
    {
        for tool in ["/usr/sbin/knotd", "/usr/sbin/knotc"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ServerProcesses.Unavailable(
                "Knot DNS is not installed: apt-get install knot (needed by this test)")
        }
        // The port is free for TCP when taken, but its UDP twin may be some other test's
        // ephemeral socket (or become one before knotd binds): then try another port.
        var attempt = 1
        while true {
            let server = KnotServer(
                port: try FreePorts.take(1)[0], directory: TemporaryDirectory("sdctl-knot"))
            do {
                try server.writeConfiguration(zones: zones)
                try server.processes.launch(
                    "knotd", "/usr/sbin/knotd", ["-c", server.configuration],
                    log: "\(server.directory.path)/knotd.log")
                try await server.waitUntilLoaded(Array(zones.keys), timeout: timeout)
                try await server.waitUntilAnswering(timeout: timeout)
                return server
            } catch let error as PortInUse where attempt < 5 {
                server.stop()
                attempt += 1
                _ = error
            } catch {
                server.stop()
                throw error
            }
        }
    }

    /// knotd could not bind its port.
    struct PortInUse: Error {}

    private init(port: Int, directory: TemporaryDirectory) {
        self.port = port
        self.directory = directory
    }

    deinit { stop() }

    private func writeConfiguration(zones: [String: String]) throws {
        let path = directory.path
        var text = """
            server:
                rundir: "\(path)"
                listen: [ 127.0.0.1@\(port), ::1@\(port) ]
                udp-workers: 1
                tcp-workers: 1
                background-workers: 1
            database:
                storage: "\(path)"
            control:
                listen: "\(path)/knot.sock"
            log:
              - target: stderr
                any: warning
            acl:
              - id: local-update
                address: [ 127.0.0.1, ::1 ]
                action: update
            template:
              - id: default
                acl: local-update
                storage: "\(path)"
                file: "%s.zone"
                zonefile-sync: -1
                zonefile-load: whole
                journal-content: none
            zone:
              - domain: broken.test

            """
        for origin in zones.keys.sorted() { text += "  - domain: \(origin)\n" }
        try text.write(toFile: configuration, atomically: true, encoding: .utf8)
        try "this is not a zone file\n".write(
            toFile: "\(path)/broken.test.zone", atomically: true, encoding: .utf8)
        for (origin, zone) in zones {
            try zone.write(toFile: "\(path)/\(origin).zone", atomically: true, encoding: .utf8)
        }
    }

    private func waitUntilLoaded(_ origins: [String], timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        for origin in origins {
            while (try? await knotcOffPool(["zone-read", origin]))?.isEmpty != false {
                let log = (try? String(contentsOfFile: "\(directory.path)/knotd.log", encoding: .utf8)) ?? ""
                if log.contains("address already in use") { throw PortInUse() }
                guard ContinuousClock.now < deadline else {
                    let log =
                        (try? String(contentsOfFile: "\(directory.path)/knotd.log", encoding: .utf8)) ?? ""
                    throw ServerProcesses.Unavailable(
                        "knotd did not load \(origin) within \(timeout): \(log)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Waits until knotd answers over UDP on both of its addresses: a loaded zone does not yet
    /// mean an answering socket, and a test that queries with a short timeout (CI once saw
    /// a 2 s query to a just-started server go unanswered) must not race its start.
    private func waitUntilAnswering(timeout: Duration) async throws {
        for host in ["127.0.0.1", "::1"] {
            let answered = try await offPool { [port] in
                DNSProbe.answers(host: host, port: port, name: "broken.test", timeout: timeout)
            }
            let log = (try? String(contentsOfFile: "\(directory.path)/knotd.log", encoding: .utf8)) ?? ""
            if log.contains("address already in use") { throw PortInUse() }
            guard answered else {
                throw ServerProcesses.Unavailable(
                    "knotd did not answer over UDP on \(host) port \(port) within \(timeout): \(log)")
            }
        }
    }

    /// Runs knotc off the cooperative pool: it blocks up to its 5 s timeout while knotd starts.
    @discardableResult
    private func knotcOffPool(_ arguments: [String]) async throws -> String {
        try await offPool { [self] in try knotc(arguments) }
    }

    /// Runs knotc against this server; throws when it fails. Blocks the calling thread: from
    /// async code, use ``replace(zone:owner:type:ttl:records:)``, which does not.
    @discardableResult
    public func knotc(_ arguments: [String]) throws -> String {
        let (status, output) = try ServerProcesses.run(
            "/usr/sbin/knotc", ["-c", configuration, "-t", "5"] + arguments)
        guard status == 0, !output.contains("error:") else {
            throw ServerProcesses.Unavailable("knotc \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }

    /// Replaces the `type` records of `owner` (relative to `zone`, or `@`) with `records`
    /// (their data as in a zone file), with `ttl`, in one transaction.
    public func replace(zone: String, owner: String, type: String, ttl: Int, records: [String]) async throws {
        try await knotcOffPool(["zone-begin", zone])
        do {
            _ = try? await knotcOffPool(["zone-unset", zone, owner, type])
            for record in records {
                try await knotcOffPool(["zone-set", zone, owner, String(ttl), type, record])
            }
            try await knotcOffPool(["zone-commit", zone])
        } catch {
            _ = try? await knotcOffPool(["zone-abort", zone])
            throw error
        }
    }

    /// Stops the server (SIGKILL) and removes its directory. Idempotent.
    public func stop() {
        processes.killAll()
        directory.remove()
    }

    /// Stops the server but keeps its directory (for tests of an unreachable server).
    public func kill() {
        processes.killAll()
    }
}
