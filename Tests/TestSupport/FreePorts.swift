import Foundation
import Synchronization

/// Loopback TCP ports for the servers the tests start, each handed out once per process.
///
/// They come from below the kernel's ephemeral range (`ip_local_port_range`, 32768-60999 on
/// Linux), chosen at random and checked by binding them. A port the kernel picked for a bind to
/// port 0 lies inside that range, where any outgoing connection (an etcdctl health check, a
/// client of another suite) can take it as its source port between the choice and the server's
/// own bind: an etcd member in CI once never came up that way, with dozens of suites and their
/// servers starting at once. Below the range only another such choice can collide, and this
/// process never makes the same one twice.
public enum FreePorts {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func take(_ count: Int) throws -> [Int] {
        let range = 20_000..<min(32_768, ephemeralStart())
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts < 10_000 else {
                throw ServerProcesses.Unavailable("no free loopback port in \(range)")
            }
            let port = Int.random(in: range)
            guard handedOut.withLock({ $0.insert(port).inserted }), canBind(port) else { continue }
            ports.append(port)
        }
        return ports
    }

    /// The first port of the kernel's ephemeral range.
    private static func ephemeralStart() -> Int {
        let text =
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }

    /// Whether nothing holds `port` on 127.0.0.1 (a bind without SO_REUSEADDR also fails for a
    /// port in TIME_WAIT, which some servers cannot reuse).
    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
