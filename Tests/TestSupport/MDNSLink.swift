import Foundation
import Synchronization

/// A link of the test's own for multicast DNS: two network namespaces joined by a veth pair,
/// `mdns0` on each side, 10.99.0.1/24 and 10.99.0.2/24 (unless IPv6 only) and IPv6 link-local
/// addresses (duplicate address detection off, so they are usable at once). Nothing sent on it
/// leaves the machine, and no test's mDNS traffic meets another's or the host's. Needs root
/// and iproute2 (`ip netns`); without them a test fails, it does not skip.
public final class MDNSLink: Sendable {
    /// One end of the link.
    public enum Host: Sendable {
        case a, b
    }

    public let namespaceA: String
    public let namespaceB: String
    public let interface = "mdns0"
    public let hasIPv4: Bool
    public static let addressA = "10.99.0.1"
    public static let addressB = "10.99.0.2"
    private static let counter = Atomic<Int>(0)
    private static let ip = "/usr/sbin/ip"

    private init(hasIPv4: Bool) {
        let number = Self.counter.add(1, ordering: .relaxed).newValue
        let prefix = "sdctl-\(getpid())-\(number)"
        namespaceA = prefix + "-a"
        namespaceB = prefix + "-b"
        self.hasIPv4 = hasIPv4
    }

    public func namespace(_ host: Host) -> String { host == .a ? namespaceA : namespaceB }

    /// Runs `body` with a new link, removed afterwards whatever happens (with the namespaces'
    /// processes: the test's own, which it stops first).
    public static func with<T>(ipv4: Bool = true, _ body: (MDNSLink) async throws -> T) async throws -> T {
        guard FileManager.default.isExecutableFile(atPath: ip) else {
            throw ServerProcesses.Unavailable(
                "iproute2 is not installed: apt-get install iproute2 (for the mDNS link)")
        }
        guard getuid() == 0 else {
            throw ServerProcesses.Unavailable(
                "the mDNS tests make network namespaces: run them as root (CI does)")
        }
        let link = MDNSLink(hasIPv4: ipv4)
        defer { link.remove() }
        try await offPool { try link.create() }
        return try await body(link)
    }

    private func create() throws {
        var commands: [[String]] = [
            ["netns", "add", namespaceA], ["netns", "add", namespaceB],
            [
                "link", "add", interface, "netns", namespaceA, "type", "veth", "peer", "name", interface,
                "netns",
                namespaceB,
            ],
        ]
        for (namespace, address) in [(namespaceA, Self.addressA), (namespaceB, Self.addressB)] {
            commands += [
                [
                    "netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                    "net.ipv6.conf.\(interface).accept_dad=0",
                ],
                ["-n", namespace, "link", "set", "lo", "up"],
                ["-n", namespace, "link", "set", interface, "up"],
            ]
            if hasIPv4 {
                commands.append(["-n", namespace, "addr", "add", "\(address)/24", "dev", interface])
            }
        }
        for command in commands {
            let (status, output) = try ServerProcesses.run(Self.ip, command)
            guard status == 0 else {
                throw ServerProcesses.Unavailable("ip \(command.joined(separator: " ")) failed: \(output)")
            }
        }
        // The link-local addresses appear once the link is up on both sides.
        let deadline = ContinuousClock.now + .seconds(10)
        for namespace in [namespaceA, namespaceB] {
            while true {
                let (_, output) = try ServerProcesses.run(
                    Self.ip, ["-n", namespace, "-6", "addr", "show", "dev", interface])
                if output.contains("fe80::") && !output.contains("tentative") { break }
                guard ContinuousClock.now < deadline else {
                    throw ServerProcesses.Unavailable("no IPv6 link-local address on \(namespace): \(output)")
                }
                usleep(20_000)
            }
        }
    }

    private func remove() {
        for namespace in [namespaceA, namespaceB] {
            // What still runs in it is the test's own; `ip netns pids` names it.
            if let (_, pids) = try? ServerProcesses.run(Self.ip, ["netns", "pids", namespace]) {
                for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? ServerProcesses.run(Self.ip, ["netns", "del", namespace])
        }
    }

    /// The IPv6 link-local address of `host`'s end.
    public func linkLocalAddress(_ host: Host) throws -> String {
        let (_, output) = try ServerProcesses.run(
            Self.ip, ["-n", namespace(host), "-6", "-o", "addr", "show", "dev", interface, "scope", "link"])
        guard let field = output.split(separator: " ").first(where: { $0.hasPrefix("fe80::") }) else {
            throw ServerProcesses.Unavailable("no link-local address in: \(output)")
        }
        return String(field.split(separator: "/")[0])
    }

    /// Starts `program` (sdctl unless named) on `host`'s end of the link.
    public func start(
        on host: Host, program: String = RunningProcess.sdctl, _ arguments: [String],
        environment: [String: String] = [:]
    ) throws -> RunningProcess {
        try RunningProcess(
            Self.ip, ["netns", "exec", namespace(host), program] + arguments, environment: environment)
    }

    /// Runs `program` on `host`'s end to completion.
    public func run(
        on host: Host, program: String = RunningProcess.sdctl, _ arguments: [String],
        environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, lines: [String], stderr: String) {
        let process = try start(on: host, program: program, arguments, environment: environment)
        let status = try await process.wait(timeout: timeout)
        return (status, process.lines, process.stderr)
    }
}
