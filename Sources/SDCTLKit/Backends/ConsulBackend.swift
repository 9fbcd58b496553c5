import Discovery

/// `consul://h:8500/web?tag=prod&passing&dc=dc1` (`consuls://` with TLS). Parsed and validated;
/// the backend itself is planned (#10).
struct ConsulBackend: PlannedBackend, Equatable {
    static let schemes = ["consul", "consuls"]
    let agent: HostPort
    let service: String
    let tags: [String]
    let passingOnly: Bool
    let datacenter: String?
    let tls: Bool
    var scheme: String { tls ? "consuls" : "consul" }

    init(
        agent: HostPort, service: String, tags: [String], passingOnly: Bool, datacenter: String?, tls: Bool
    ) {
        self.agent = agent
        self.service = service
        self.tags = tags
        self.passingOnly = passingOnly
        self.datacenter = datacenter
        self.tls = tls
    }

    init(url: TargetURL, environment: [String: String]) throws(CLIError) {
        agent = try url.host(defaultPort: 8500)
        let service = url.path.dropFirst()
        guard url.path.hasPrefix("/"), !service.isEmpty, !service.contains("/") else {
            throw url.invalid("\(url.scheme):// needs a service name: consul://host:8500/web")
        }
        var tags: [String] = []
        var passing = false
        var datacenter: String?
        for (key, value) in url.parameters {
            switch key {
            case "tag":
                guard let value, !value.isEmpty else { throw url.invalid("tag needs a value: ?tag=prod") }
                tags.append(value)
            case "passing":
                switch value {
                case nil, "true", "1": passing = true
                case "false", "0": passing = false
                default: throw url.invalid("passing takes true or false")
                }
            case "dc":
                guard let value, !value.isEmpty else { throw url.invalid("dc needs a value") }
                datacenter = value
            default:
                throw url.invalid("unknown query parameter '\(key)' (known: tag, passing, dc)")
            }
        }
        self.service = String(service)
        self.tags = tags
        self.passingOnly = passing
        self.datacenter = datacenter
        self.tls = url.scheme == "consuls"
    }
}
