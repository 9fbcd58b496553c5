import Foundation

/// A real Avahi (Debian's `avahi-daemon` and `avahi-utils`) on one end of an ``MDNSLink``: the
/// daemon with a configuration of its own (that interface only, no wide-area, no workstation
/// records) and a D-Bus system bus of its own for `avahi-publish-service` and `avahi-browse`,
/// both in a temporary directory; its pid file is on a private tmpfs, so several can run at
/// once. Stopped by ``with(on:of:_:)`` whatever happens.
public final class AvahiPeer: Sendable {
    public let link: MDNSLink
    public let host: MDNSLink.Host
    private let directory: TemporaryDirectory
    private let processes = ServerProcesses()
    private var bus: String { "unix:path=\(directory.path)/bus" }
    /// What the clients need to find the daemon.
    public var environment: [String: String] { ["DBUS_SYSTEM_BUS_ADDRESS": bus] }
    /// The daemon's host name, under `.local`.
    public let hostName = "avahi-peer"

    private init(link: MDNSLink, host: MDNSLink.Host) {
        self.link = link
        self.host = host
        directory = TemporaryDirectory("sdctl-avahi")
    }

    public static func with<T>(
        on host: MDNSLink.Host, of link: MDNSLink, _ body: (AvahiPeer) async throws -> T
    )
        async throws -> T
    {
        for tool in [
            "/usr/sbin/avahi-daemon", "/usr/bin/avahi-publish-service", "/usr/bin/avahi-browse",
            "/usr/bin/dbus-daemon",
        ]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ServerProcesses.Unavailable(
                "\(tool) is not installed: apt-get install avahi-daemon avahi-utils dbus-daemon (needed by this test)"
            )
        }
        let peer = AvahiPeer(link: link, host: host)
        defer { peer.stop() }
        try await peer.start()
        return try await body(peer)
    }

    private func start() async throws {
        let path = directory.path
        try """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>\(bus)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_destination="*" eavesdrop="true"/>
            <allow receive_sender="*"/>
          </policy>
        </busconfig>
        """.write(toFile: "\(path)/bus.conf", atomically: true, encoding: .utf8)
        try """
        [server]
        host-name=\(hostName)
        domain-name=local
        use-ipv4=yes
        use-ipv6=yes
        allow-interfaces=\(link.interface)
        enable-dbus=yes
        ratelimit-interval-usec=1000000
        ratelimit-burst=1000
        [wide-area]
        enable-wide-area=no
        [publish]
        publish-hinfo=no
        publish-workstation=no
        """.write(toFile: "\(path)/avahi.conf", atomically: true, encoding: .utf8)
        try processes.launch(
            "dbus", "/usr/bin/dbus-daemon", ["--config-file=\(path)/bus.conf", "--nofork", "--nopidfile"],
            log: "\(path)/dbus.log")
        try FileManager.default.createDirectory(
            atPath: "/run/avahi-daemon", withIntermediateDirectories: true)
        try await eventually(.seconds(10), "the D-Bus socket") {
            FileManager.default.fileExists(atPath: "\(path)/bus")
        }
        // The pid file's place is fixed (/run/avahi-daemon): a private mount namespace gives each
        // daemon its own. The daemon is not this process's child (setsid -f; stopped by its pid):
        // while avahi-daemon was one, Foundation's Process never saw any other child end.
        let script =
            "echo $$ > \(path)/avahi.pid && mount -t tmpfs none /run/avahi-daemon && DBUS_SYSTEM_BUS_ADDRESS=\(bus) exec /usr/sbin/avahi-daemon -f \(path)/avahi.conf --no-drop-root --no-chroot --no-rlimits"
        let launch =
            "/usr/bin/setsid -f /usr/sbin/ip netns exec \(link.namespace(host)) unshare -m sh -c '\(script)' < /dev/null > \(path)/avahi.log 2>&1"
        let (status, output) = try await offPool { try ServerProcesses.run("/bin/sh", ["-c", launch]) }
        guard status == 0 else { throw ServerProcesses.Unavailable("cannot start avahi-daemon: \(output)") }
        try await eventually(.seconds(20), "avahi-daemon's start (\(path)/avahi.log)") { [self] in
            log.contains("Server startup complete")
        }
    }

    /// The daemon's log so far.
    public var log: String {
        (try? String(contentsOfFile: "\(directory.path)/avahi.log", encoding: .utf8)) ?? ""
    }

    /// Publishes a service through `avahi-publish-service` until the returned process is
    /// stopped; returns once Avahi says it is established.
    public func publish(name: String, type: String, port: Int, txt: [String] = []) async throws
        -> RunningProcess
    {
        let process = try link.start(
            on: host, program: "/usr/bin/avahi-publish-service", [name, type, "\(port)"] + txt,
            environment: environment)
        try await eventually(.seconds(20), "avahi-publish-service's 'Established'") {
            process.stderr.contains("Established under name")
                || process.lines.contains { $0.contains("Established") }
        }
        return process
    }

    /// `avahi-browse -rpt TYPE`: the resolved entries (`=;iface;proto;name;type;domain;host;address;port;txt`).
    public func browse(type: String) async throws -> [String] {
        let result = try await link.run(
            on: host, program: "/usr/bin/avahi-browse", ["-rpt", type], environment: environment,
            timeout: .seconds(30))
        return result.lines.filter { $0.hasPrefix("=") }
    }

    private func stop() {
        if let text = try? String(contentsOfFile: "\(directory.path)/avahi.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, SIGKILL)
        }
        processes.killAll()
        directory.remove()
    }
}
