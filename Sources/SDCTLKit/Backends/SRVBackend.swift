import Discovery

/// `srv://[server[:port]]/_http._tcp.web.example.com`. Parsed and validated; the backend itself
/// is planned (#9).
struct SRVBackend: PlannedBackend, Equatable {
    static let schemes = ["srv"]
    let server: HostPort?
    let name: String
    var scheme: String { "srv" }

    init(server: HostPort?, name: String) {
        self.server = server
        self.name = name
    }

    init(url: TargetURL, environment: [String: String]) throws(CLIError) {
        try url.requireNoQuery()
        server = url.authority.isEmpty ? nil : try url.host(defaultPort: 53)
        let name = String(url.path.dropFirst())
        let absolute = name.hasSuffix(".")
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard url.path.hasPrefix("/"), labels.count >= 3, labels[0].hasPrefix("_"), labels[1].hasPrefix("_"),
            HostPort.isHostName(Substring(absolute ? String(name.dropLast()) : name)),
            !labels.dropLast(absolute ? 1 : 0).contains(where: \.isEmpty)
        else {
            throw url.invalid("srv:// needs a record name like _http._tcp.web.example.com")
        }
        self.name = name
    }
}
