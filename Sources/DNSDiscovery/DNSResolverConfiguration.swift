import Discovery

/// Where and how a ``DNSClient`` asks: servers, search list and the resolver options of
/// resolv.conf(5).
///
/// ``init(resolvConf:environment:)`` reads the file as glibc's resolver does: up to three
/// `nameserver` lines in order (also OpenBSD's `nameserver [address]:port`), the last `search` or `domain` line, and `options` `timeout:n`
/// (seconds, at most 30), `attempts:n` (at most 5), `ndots:n` (at most 15) and `rotate`, then
/// `RES_OPTIONS` and `LOCALDOMAIN` from the environment over them. With no `nameserver`, the
/// server is 127.0.0.1, as glibc uses.
public struct DNSResolverConfiguration: Sendable, Hashable {
    /// Servers in the order they are tried; hosts are IP literals or names of the local host.
    public var servers: [HostPort]
    /// Domains appended to a relative name, in order.
    public var search: [String]
    /// A name with at least this many dots is tried as given before the search list.
    public var ndots: Int
    /// How long one attempt at one server waits for its reply.
    public var timeout: Duration
    /// How many rounds over all servers a query makes.
    public var attempts: Int
    /// Whether each query starts at the next server instead of the first.
    public var rotate: Bool

    public init(
        servers: [HostPort], search: [String] = [], ndots: Int = 1, timeout: Duration = .seconds(5),
        attempts: Int = 2, rotate: Bool = false
    ) {
        self.servers = servers
        self.search = search
        self.ndots = ndots
        self.timeout = timeout
        self.attempts = attempts
        self.rotate = rotate
    }

    /// glibc's limit on `nameserver` lines (MAXNS); later lines are ignored, as there.
    public static let maximumServers = 3

    /// Parses the text of a resolv.conf; lines it does not know are ignored, as glibc does.
    public init(resolvConf text: String, environment: [String: String] = [:]) {
        self.init(servers: [])
        var search: [String]?
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else {
                continue
            }
            let arguments = words.dropFirst().prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }
            switch keyword {
            case "nameserver":
                guard servers.count < Self.maximumServers, let address = arguments.first,
                    let server = Self.server(String(address))
                else { continue }
                servers.append(server)
            case "search":
                search = arguments.map { DNSName.relative(String($0)) }
            case "domain":
                search = arguments.first.map { [DNSName.relative(String($0))] } ?? []
            case "options":
                applyOptions(arguments)
            default:
                continue
            }
        }
        if let local = environment["LOCALDOMAIN"] {
            search = local.split(separator: " ").map { DNSName.relative(String($0)) }
        }
        if let options = environment["RES_OPTIONS"] {
            applyOptions(options.split(separator: " ")[...])
        }
        self.search = search ?? []
        if servers.isEmpty { servers = [HostPort(host: "127.0.0.1", port: 53)] }
    }

    private mutating func applyOptions(_ options: ArraySlice<Substring>) {
        func value(_ option: Substring, _ name: String, maximum: Int) -> Int? {
            guard option.hasPrefix(name), let number = Int(option.dropFirst(name.count)), number >= 0 else {
                return nil
            }
            return min(number, maximum)
        }
        for option in options {
            if let seconds = value(option, "timeout:", maximum: 30) {
                timeout = .seconds(max(seconds, 1))
            } else if let count = value(option, "attempts:", maximum: 5) {
                attempts = max(count, 1)
            } else if let dots = value(option, "ndots:", maximum: 15) {
                ndots = dots
            } else if option == "rotate" {
                rotate = true
            }
        }
    }

    /// A `nameserver` address: an IPv4 or IPv6 literal (an IPv6 one possibly with `%zone`), or
    /// OpenBSD's `[address]:port` for a server on another port, which glibc skips.
    private static func server(_ text: String) -> HostPort? {
        var host = Substring(text)
        var port: UInt16 = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let number = UInt16(rest.dropFirst()), number > 0 else { return nil }
            port = number
        }
        let isIPv4 =
            host.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { UInt8($0) != nil }
        let isIPv6 =
            host.contains(":")
            && host.utf8.allSatisfy { $0.isHexDigitOrSeparator }
        guard isIPv4 || isIPv6 else { return nil }
        return HostPort(host: String(host), port: port)
    }

    /// The names to try for `name`, in order (resolv.conf(5) on `ndots` and `search`).
    public func candidates(for name: String) -> [String] {
        guard !name.hasSuffix(".") else { return [DNSName.relative(name)] }
        let searched = search.filter { $0 != "." }.map { "\(name).\($0)" }
        let dots = name.utf8.count { $0 == UInt8(ascii: ".") }
        return dots >= ndots ? [name] + searched : searched + [name]
    }
}

extension UInt8 {
    /// Hex digits, `:`, `.` (an embedded IPv4 address) and `%` (a zone) with its name's letters.
    fileprivate var isHexDigitOrSeparator: Bool {
        (self >= 0x30 && self <= 0x3A) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
            || self == 0x2E || self == 0x25
    }
}
