import Foundation
import Glibc
import Synchronization

/// Real ZooKeeper servers from Debian's `zookeeper` package, started on free loopback ports in
/// a temporary directory: one standalone server or an ensemble. Always ``stop()`` them (tests
/// use `defer`). A missing package is an error, never a skip.
public final class ZooKeeperServers: Sendable {
    public static let jar = "/usr/share/java/zookeeper.jar"

    public struct Member: Sendable {
        public let id: Int
        public let clientPort: Int
        public let quorumPort: Int
        public let electionPort: Int
        public var address: String { "127.0.0.1:\(clientPort)" }
    }

    public let members: [Member]
    private let directory: TemporaryDirectory
    private let processes = ServerProcesses()

    /// `host:port,...` of every member.
    public var connectString: String { members.map(\.address).joined(separator: ",") }

    /// Starts `count` servers (1: standalone) and waits until they serve.
    /// Runs `body` with `count` members started and stops them afterwards, whatever happens.
    public static func with<T>(
        count: Int = 1, timeout: Duration = .seconds(60), _ body: (ZooKeeperServers) async throws -> T
    ) async throws -> T {
        let servers = try await start(count: count, timeout: timeout)
        defer { servers.stop() }
        return try await body(servers)
    }

    public static func start(count: Int = 1, timeout: Duration = .seconds(60)) async throws
        -> ZooKeeperServers
    {
        guard FileManager.default.fileExists(atPath: jar) else {
            throw ServerProcesses.Unavailable(
                "ZooKeeper is not installed: apt-get install zookeeper (needed by this test)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/java") else {
            throw ServerProcesses.Unavailable("Java is not installed: apt-get install default-jre-headless")
        }
        let ports = try FreePorts.take(count * 3)
        let members = (0..<count).map {
            Member(
                id: $0 + 1, clientPort: ports[$0 * 3], quorumPort: ports[$0 * 3 + 1],
                electionPort: ports[$0 * 3 + 2])
        }
        let servers = ZooKeeperServers(members: members)
        do {
            try await StartGate.jvm.withPermit {
                for member in members { try servers.launch(member) }
                try await servers.waitUntilServing(members, timeout: timeout)
            }
        } catch {
            servers.stop()
            throw error
        }
        return servers
    }

    private init(members: [Member]) {
        self.members = members
        directory = TemporaryDirectory("sdctl-zk")
    }

    deinit { stop() }

    private func configuration(for member: Member) -> String {
        var lines = [
            "tickTime=200", "initLimit=50", "syncLimit=25", "dataDir=\(directory.path)/\(member.id)",
            "clientPort=\(member.clientPort)", "clientPortAddress=127.0.0.1", "admin.enableServer=false",
            "4lw.commands.whitelist=*", "minSessionTimeout=400", "maxSessionTimeout=60000",
        ]
        if members.count > 1 {
            for other in members {
                lines.append("server.\(other.id)=127.0.0.1:\(other.quorumPort):\(other.electionPort)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func launch(_ member: Member) throws {
        let data = "\(directory.path)/\(member.id)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "\(member.id)\n".write(toFile: "\(data)/myid", atomically: true, encoding: .utf8)
        let config = "\(directory.path)/zoo\(member.id).cfg"
        try configuration(for: member).write(toFile: config, atomically: true, encoding: .utf8)
        try processes.launch(
            "\(member.id)", "/usr/bin/java",
            [
                "-Xmx256m", "-XX:+UseSerialGC", "-Dzookeeper.admin.enableServer=false", "-cp", Self.jar,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", config,
            ], log: "\(directory.path)/server\(member.id).log")
    }

    /// Waits until every member says it serves (`srvr`) and has opened and closed a session:
    /// under load a server answered `srvr` and then took more than 10 s to accept the first
    /// session, which the tests' connect deadlines are not about.
    private func waitUntilServing(_ members: [Member], timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        for member in members {
            while true {
                // Off the pool: a starting server can hold the read for its 1 s timeout.
                let port = member.clientPort
                let serving: Bool = try await offPool {
                    guard let mode = FourLetterWord.send("srvr", port: port),
                        mode.contains("Mode: standalone") || mode.contains("Mode: leader")
                            || mode.contains("Mode: follower")
                    else { return false }
                    return SessionHandshake.openAndClose(port: port)
                }
                if serving { break }
                guard ContinuousClock.now < deadline else {
                    throw ServerProcesses.Unavailable(
                        "ZooKeeper member \(member.id) did not start serving within \(timeout)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Stops one member (SIGKILL: as abrupt as a crash).
    public func stop(member id: Int) {
        processes.kill("\(id)")
    }

    /// Starts a stopped member again and waits until it serves; with `wipingData`, as a server
    /// rebuilt with an empty data directory (a container without its volume).
    public func restart(member id: Int, wipingData: Bool = false, timeout: Duration = .seconds(60))
        async throws
    {
        let member = members.first { $0.id == id }!
        if wipingData { try FileManager.default.removeItem(atPath: "\(directory.path)/\(member.id)") }
        try await StartGate.jvm.withPermit {
            try launch(member)
            try await waitUntilServing([member], timeout: timeout)
        }
    }

    /// The member whose `cons` output lists session `sessionID`, if any.
    public func member(servingSession sessionID: Int64) -> Int? {
        let needle = "sid=0x" + String(UInt64(bitPattern: sessionID), radix: 16)
        for member in members {
            if let connections = FourLetterWord.send("cons", port: member.clientPort),
                connections.contains(needle)
            {
                return member.id
            }
        }
        return nil
    }

    /// The session owning the ephemeral node `path`, from the `dump` of whichever member lists it.
    public func session(owning path: String) -> Int64? {
        for member in members {
            guard let dump = FourLetterWord.send("dump", port: member.clientPort) else { continue }
            var current: Int64?
            for line in dump.split(separator: "\n") {
                if line.hasPrefix("0x"),
                    let id = UInt64(line.dropFirst(2).prefix { $0.isHexDigit }, radix: 16)
                {
                    current = Int64(bitPattern: id)
                } else if line.trimmingCharacters(in: .whitespaces) == path {
                    return current
                }
            }
        }
        return nil
    }

    /// Runs a zkCli.sh command against the servers, off the cooperative pool (a JVM starts
    /// each time), and returns its output.
    public func zkCli(_ arguments: [String]) async throws -> String {
        let connectString = connectString
        // zkCli.sh says "Created ..." on stderr, so both are returned.
        return try await offPool {
            try ServerProcesses.run(
                "/usr/share/zookeeper/bin/zkCli.sh", ["-server", connectString] + arguments
            )
            .output
        }
    }

    /// Stops every member and removes the directory. Idempotent.
    public func stop() {
        processes.killAll()
        directory.remove()
    }
}

/// ZooKeeper's four-letter-word admin commands, over a plain TCP connection.
enum FourLetterWord {
    static func send(_ word: String, port: Int) -> String? {
        guard let fd = LoopbackSocket.connect(port: port) else { return nil }
        defer { close(fd) }
        _ = word.withCString { write(fd, $0, 4) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}

/// A blocking loopback TCP connection whose reads time out after a second.
enum LoopbackSocket {
    static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}

/// Opens a ZooKeeper session with the wire protocol's ConnectRequest and closes it at once
/// (closeSession, op -11), so that a server counts as started only once it accepts sessions.
enum SessionHandshake {
    static func openAndClose(port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        defer { close(fd) }
        // ConnectRequest: protocolVersion, lastZxidSeen, timeOut (ms), sessionId,
        // passwd (length-prefixed, 16 zero bytes), readOnly.
        var request = Frame()
        request.int32(0)
        request.int64(0)
        request.int32(4000)
        request.int64(0)
        request.int32(16)
        request.bytes += [UInt8](repeating: 0, count: 16)
        request.bytes.append(0)
        guard send(fd, request), let reply = receive(fd), reply.count >= 16 else { return false }
        let sessionID = reply[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard sessionID != 0 else { return false }
        var close = Frame()
        close.int32(1)  // xid
        close.int32(-11)  // closeSession
        return send(fd, close) && receive(fd) != nil
    }

    private struct Frame {
        var bytes: [UInt8] = []
        mutating func int32(_ value: Int32) {
            bytes += withUnsafeBytes(of: value.bigEndian, Array.init)
        }
        mutating func int64(_ value: Int64) {
            bytes += withUnsafeBytes(of: value.bigEndian, Array.init)
        }
    }

    private static func send(_ fd: Int32, _ frame: Frame) -> Bool {
        var framed = Frame()
        framed.int32(Int32(frame.bytes.count))
        framed.bytes += frame.bytes
        return framed.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == framed.bytes.count
    }

    /// One length-prefixed reply, at most 1 KiB.
    private static func receive(_ fd: Int32) -> [UInt8]? {
        guard let header = read(fd, count: 4) else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= 1024 else { return nil }
        return read(fd, count: length)
    }

    private static func read(_ fd: Int32, count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = result.withUnsafeMutableBytes {
                Glibc.read(fd, $0.baseAddress! + filled, count - filled)
            }
            guard got > 0 else { return nil }
            filled += got
        }
        return result
    }
}
