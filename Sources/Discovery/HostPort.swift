/// A parsed `host:port` pair, the form every instance address takes.
///
/// Hosts are DNS names, IPv4 literals or bracketed IPv6 literals (`[2001:db8::1]:443`).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    /// The host without brackets.
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6]:port`; with `defaultPort`, a missing port is allowed.
    public init(parsing text: String, defaultPort: UInt16? = nil) throws(DiscoveryError) {
        func fail(_ why: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "invalid address '\(text)': \(why)")
        }
        var hostPart: Substring
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("missing ']' after IPv6 host") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                portPart = nil
            } else if rest.first == ":" {
                portPart = rest.dropFirst()
            } else {
                throw fail("expected ':' after ']'")
            }
            guard hostPart.contains(":"), Self.isIPv6Literal(hostPart) else {
                throw fail("'\(hostPart)' is not an IPv6 address")
            }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons > 1 { throw fail("IPv6 hosts must be written in brackets, like [::1]:80") }
            if let colon = text.firstIndex(of: ":") {
                hostPart = text[..<colon]
                portPart = text[text.index(after: colon)...]
            } else {
                hostPart = text[...]
                portPart = nil
            }
            guard Self.isHostName(hostPart) else { throw fail("'\(hostPart)' is not a valid host name") }
        }
        guard !hostPart.isEmpty else { throw fail("empty host") }
        let port: UInt16
        if let portPart {
            guard !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber),
                portPart.count <= 5, let value = UInt16(portPart), value > 0
            else { throw fail("port must be a number from 1 to 65535") }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw fail("missing ':port'")
        }
        self.host = String(hostPart)
        self.port = port
    }

    /// `host:port`, with brackets around IPv6 hosts.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Whether `text` is a syntactically valid DNS host name or IPv4 literal.
    public static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F
        } && !text.hasPrefix(".") && !text.hasPrefix("-")
    }

    static func isIPv6Literal(_ text: Substring) -> Bool {
        // Hex digits, colons, dots (embedded IPv4) and a zone after '%'.
        let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parts.first, address.count >= 2 else { return false }
        if parts.count == 2, parts[1].isEmpty { return false }
        return address.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
                || byte == 0x3A || byte == 0x2E
        } && address.split(separator: "::", omittingEmptySubsequences: false).count <= 2
    }
}
