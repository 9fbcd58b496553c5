import Foundation

/// This process's established TCP connections, read from /proc: which server port a client in
/// the test is talking to, without asking the client.
public enum TCPConnections {
    /// Whether something accepts connections on 127.0.0.1:`port` now.
    public static func canConnect(toPort port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// How many established IPv4 connections of this process have `port` as their remote port.
    public static func established(toPort port: Int) -> Int {
        let sockets = ownSockets()
        // Each row: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...;
        // addresses are HEXIP:HEXPORT, st 01 is ESTABLISHED.
        return read("/proc/net/tcp").split(separator: "\n").dropFirst().filter { row in
            let fields = row.split(separator: " ")
            guard fields.count > 9, fields[3] == "01", sockets.contains(String(fields[9])) else {
                return false
            }
            return fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) } == port
        }.count
    }

    /// The inodes of the sockets this process holds open ("socket:[INODE]" links in /proc/self/fd).
    static func ownSockets() -> Set<String> {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(
            descriptors.compactMap { descriptor in
                guard
                    let target = try? FileManager.default.destinationOfSymbolicLink(
                        atPath: "/proc/self/fd/\(descriptor)"),
                    target.hasPrefix("socket:[")
                else { return nil }
                return String(target.dropFirst("socket:[".count).dropLast())
            })
    }

    /// Reads to the end: /proc files report a size of 0, which String(contentsOfFile:) believes.
    static func read(_ path: String) -> String {
        guard let file = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? file.close() }
        return String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
    }
}
