import Discovery
import FileDiscovery

/// Where a service lives, parsed from a TARGET argument (docs/targets.md).
public enum Target: Sendable, Equatable {
    /// The embedded file backend: a directory per service.
    case file(FileServiceDirectory)
    /// `zk://h1:2181,h2:2181/services/web`
    case zookeeper(hosts: [HostPort], path: String)
    /// `etcd://h:2379/services/web/`, `etcds://` with TLS.
    case etcd(endpoints: [HostPort], prefix: String, tls: Bool)
    /// `consul://h:8500/web?tag=prod&passing`, `consuls://` with TLS.
    case consul(
        agent: HostPort, service: String, tags: [String], passingOnly: Bool, datacenter: String?, tls: Bool)
    /// `eureka://h:8761/eureka/apps/WEB`, `eurekas://` with TLS.
    case eureka(server: HostPort, basePath: String, app: String, tls: Bool)
    /// `srv://[server[:port]]/_http._tcp.web.example.com`
    case srv(server: HostPort?, name: String)

    /// The URL scheme, or `file` for bare names.
    public var scheme: String {
        switch self {
        case .file: "file"
        case .zookeeper: "zk"
        case .etcd(_, _, let tls): tls ? "etcds" : "etcd"
        case .consul(_, _, _, _, _, let tls): tls ? "consuls" : "consul"
        case .eureka(_, _, _, let tls): tls ? "eurekas" : "eureka"
        case .srv: "srv"
        }
    }

    /// Parses a TARGET; bare names resolve under `$SDCTL_HOME`.
    public init(parsing text: String, environment: [String: String]) throws(CLIError) {
        func invalid(_ why: String) -> CLIError { .usage("invalid target '\(text)': \(why)") }
        guard let schemeEnd = text.firstRange(of: "://") else {
            guard !text.contains("/"), !text.contains(":") else {
                throw invalid(
                    "expected a service name or a URL such as file:///dir/web or zk://host:2181/path")
            }
            do {
                self = .file(try FileServiceDirectory(serviceName: text, environment: environment))
            } catch {
                throw invalid(error.message.replacingOccurrences("invalid service name '\(text)': ", ""))
            }
            return
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = text[schemeEnd.upperBound...]
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        var pathAndQuery = rest.dropFirst(authority.count)
        var query: Substring = ""
        if let mark = pathAndQuery.firstIndex(of: "?") {
            query = pathAndQuery[pathAndQuery.index(after: mark)...]
            pathAndQuery = pathAndQuery[..<mark]
        }
        let path = String(pathAndQuery)
        guard !text.contains("#"), !text.contains(" ") else {
            throw invalid("fragments and spaces are not allowed")
        }

        func hosts(defaultPort: UInt16) throws(CLIError) -> [HostPort] {
            guard !authority.isEmpty else { throw invalid("missing host") }
            guard !authority.contains("@") else {
                throw invalid("credentials do not belong in the URL; use the backend's environment variables")
            }
            var result: [HostPort] = []
            for part in authority.split(separator: ",", omittingEmptySubsequences: false) {
                do {
                    result.append(try HostPort(parsing: String(part), defaultPort: defaultPort))
                } catch {
                    throw invalid(error.message)
                }
            }
            return result
        }
        func single(defaultPort: UInt16) throws(CLIError) -> HostPort {
            let all = try hosts(defaultPort: defaultPort)
            guard all.count == 1 else { throw invalid("\(scheme):// takes one host") }
            return all[0]
        }
        func noQuery() throws(CLIError) {
            guard query.isEmpty else { throw invalid("\(scheme):// takes no query parameters") }
        }

        switch scheme {
        case "file":
            guard authority.isEmpty else {
                throw invalid("file URLs take no host: write file:///absolute/dir")
            }
            try noQuery()
            guard path.count > 1, !path.split(separator: "/").contains(where: { $0 == ".." }) else {
                throw invalid("file URLs need an absolute directory path without '..'")
            }
            self = .file(FileServiceDirectory(path: path))
        case "zk":
            let hosts = try hosts(defaultPort: 2181)
            try noQuery()
            guard path.count > 1, !path.hasSuffix("/"), !path.contains("//") else {
                throw invalid("zk:// needs a node path such as /services/web (no trailing '/')")
            }
            self = .zookeeper(hosts: hosts, path: path)
        case "etcd", "etcds":
            // No host: the endpoints come from ETCDCTL_ENDPOINTS, as etcdctl takes them.
            let endpoints: [HostPort]
            if authority.isEmpty {
                guard let listed = environment["ETCDCTL_ENDPOINTS"], !listed.isEmpty else {
                    throw invalid("no host, and ETCDCTL_ENDPOINTS is not set")
                }
                var parsed: [HostPort] = []
                for endpoint in listed.split(separator: ",") {
                    var text = Substring(endpoint.trimmingWhitespace())
                    for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
                        text = text.dropFirst(scheme.count)
                    }
                    if text.hasSuffix("/") { text = text.dropLast() }
                    do {
                        parsed.append(try HostPort(parsing: String(text), defaultPort: 2379))
                    } catch {
                        throw invalid("ETCDCTL_ENDPOINTS: \(error.message)")
                    }
                }
                endpoints = parsed
            } else {
                endpoints = try hosts(defaultPort: 2379)
            }
            try noQuery()
            guard path.count > 1 else {
                throw invalid("\(scheme):// needs a key prefix such as /services/web/")
            }
            self = .etcd(endpoints: endpoints, prefix: path, tls: scheme == "etcds")
        case "consul", "consuls":
            let agent = try single(defaultPort: 8500)
            let service = path.dropFirst()
            guard path.hasPrefix("/"), !service.isEmpty, !service.contains("/") else {
                throw invalid("\(scheme):// needs a service name: consul://host:8500/web")
            }
            var tags: [String] = []
            var passing = false
            var datacenter: String?
            for pair in query.split(separator: "&") {
                let key = pair.prefix { $0 != "=" }
                let value = pair.contains("=") ? String(pair.drop { $0 != "=" }.dropFirst()) : nil
                switch key {
                case "tag":
                    guard let value, !value.isEmpty else { throw invalid("tag needs a value: ?tag=prod") }
                    tags.append(value)
                case "passing":
                    switch value {
                    case nil, "true", "1": passing = true
                    case "false", "0": passing = false
                    default: throw invalid("passing takes true or false")
                    }
                case "dc":
                    guard let value, !value.isEmpty else { throw invalid("dc needs a value") }
                    datacenter = value
                default:
                    throw invalid("unknown query parameter '\(key)' (known: tag, passing, dc)")
                }
            }
            self = .consul(
                agent: agent, service: String(service), tags: tags, passingOnly: passing,
                datacenter: datacenter,
                tls: scheme == "consuls")
        case "eureka", "eurekas":
            let server = try single(defaultPort: 8761)
            try noQuery()
            let components = path.split(separator: "/")
            guard components.count >= 2, components[components.count - 2] == "apps" else {
                throw invalid("\(scheme):// needs a path ending in /apps/APP, like /eureka/apps/WEB")
            }
            let base = "/" + components.dropLast(1).joined(separator: "/")
            self = .eureka(
                server: server, basePath: base, app: String(components.last!).uppercased(),
                tls: scheme == "eurekas")
        case "srv":
            try noQuery()
            let server: HostPort? = authority.isEmpty ? nil : try single(defaultPort: 53)
            let name = String(path.dropFirst())
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            guard path.hasPrefix("/"), labels.count >= 3, labels[0].hasPrefix("_"), labels[1].hasPrefix("_"),
                HostPort.isHostName(Substring(name.hasSuffix(".") ? String(name.dropLast()) : name)),
                !labels.dropLast(name.hasSuffix(".") ? 1 : 0).contains(where: \.isEmpty)
            else {
                throw invalid("srv:// needs a record name like _http._tcp.web.example.com")
            }
            self = .srv(server: server, name: name)
        default:
            throw invalid(
                "unknown scheme '\(scheme)' (known: file, zk, etcd, etcds, consul, consuls, eureka, eurekas, srv)"
            )
        }
    }
}
