import Discovery
import DiscoveryHTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Kubeconfig {
    /// One kubeconfig file's contents; `path` names it in messages and anchors its relative
    /// paths. A malformed file is `DiscoveryError/Code/invalidArgument` naming the file, the
    /// entry and the field.
    public init(parsing bytes: [UInt8], path: String) throws(DiscoveryError) {
        let document: YAMLNode
        do {
            document = try YAMLNode.parse(bytes)
        } catch {
            throw DiscoveryError(.invalidArgument, "k8s: kubeconfig \(path) is not YAML: \(error.message)")
        }
        var reader = FieldReader(path: path)
        self.init()
        files = [path]
        if document == .null { return }
        guard case .mapping = document else { throw reader.invalid("the top level is not a mapping") }
        currentContext = try reader.string(document["current-context"], "current-context").flatMap {
            $0.isEmpty ? nil : $0
        }
        for (name, cluster) in try reader.namedEntries(document["clusters"], "clusters", field: "cluster") {
            clusters[name] = try reader.cluster(cluster, name: name)
        }
        for (name, user) in try reader.namedEntries(document["users"], "users", field: "user") {
            users[name] = try reader.user(user, name: name)
        }
        for (name, context) in try reader.namedEntries(document["contexts"], "contexts", field: "context") {
            reader.place = "context \(name)"
            guard let cluster = try reader.string(context["cluster"], "cluster"), !cluster.isEmpty else {
                throw reader.invalid("has no cluster")
            }
            contexts[name] = Context(
                cluster: cluster,
                user: try reader.string(context["user"], "user").flatMap { $0.isEmpty ? nil : $0 },
                namespace: try reader.string(context["namespace"], "namespace"))
        }
    }
}

/// Reads typed fields out of a kubeconfig's nodes, naming the file and entry when one is wrong.
private struct FieldReader {
    let path: String
    let directory: String
    var place = ""

    init(path: String) {
        self.path = path
        directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
    }

    func invalid(_ problem: String) -> DiscoveryError {
        DiscoveryError(
            .invalidArgument, "k8s: kubeconfig \(path): \(place.isEmpty ? "" : place + " ")\(problem)")
    }

    func string(_ node: YAMLNode?, _ field: String) throws(DiscoveryError) -> String? {
        switch node {
        case nil: return nil
        case .scalar(let text): return text
        default: throw invalid("field \(field) is not a string")
        }
    }

    /// YAML 1.1's booleans, as kubectl's YAML reader takes them.
    func bool(_ node: YAMLNode?, _ field: String) throws(DiscoveryError) -> Bool {
        guard let text = try string(node, field) else { return false }
        switch text.lowercased() {
        case "true", "yes", "on", "y": return true
        case "false", "no", "off", "n": return false
        default: throw invalid("field \(field) is '\(text)', not true or false")
        }
    }

    /// Base64 `*-data`, decoded.
    func data(_ node: YAMLNode?, _ field: String) throws(DiscoveryError) -> [UInt8]? {
        guard let text = try string(node, field), !text.isEmpty else { return nil }
        guard let bytes = Base64.decode(text) else { throw invalid("field \(field) is not base64") }
        return bytes
    }

    /// A file path, relative ones anchored at the kubeconfig's directory.
    func file(_ node: YAMLNode?, _ field: String) throws(DiscoveryError) -> String? {
        guard let text = try string(node, field), !text.isEmpty else { return nil }
        if text.hasPrefix("/") { return text }
        if text.hasPrefix("~/"), let home = getenv("HOME").map({ String(cString: $0) }) {
            return home + text.dropFirst()
        }
        return directory + "/" + text
    }

    /// `[{name: N, FIELD: {...}}, ...]` as (N, node) pairs; a name twice is an error.
    mutating func namedEntries(_ node: YAMLNode?, _ list: String, field: String) throws(DiscoveryError)
        -> [(String, YAMLNode)]
    {
        place = ""
        guard let node else { return [] }
        guard case .sequence(let items) = node else { throw invalid("\(list) is not a list") }
        var entries: [(String, YAMLNode)] = []
        for item in items {
            guard let name = try string(item["name"], "name"), !name.isEmpty else {
                throw invalid("an entry of \(list) has no name")
            }
            guard !entries.contains(where: { $0.0 == name }) else {
                throw invalid("\(list) names '\(name)' twice")
            }
            let value = item[field] ?? .mapping([])
            guard case .mapping = value else { throw invalid("\(field) \(name) is not a mapping") }
            entries.append((name, value))
        }
        return entries
    }

    mutating func cluster(_ node: YAMLNode, name: String) throws(DiscoveryError) -> Kubeconfig.Cluster {
        place = "cluster \(name)"
        guard let server = try string(node["server"], "server"), !server.isEmpty else {
            throw invalid("has no server")
        }
        var cluster = Kubeconfig.Cluster(server: server)
        cluster.certificateAuthority = try file(node["certificate-authority"], "certificate-authority")
        cluster.certificateAuthorityData = try data(
            node["certificate-authority-data"], "certificate-authority-data")
        cluster.insecureSkipTLSVerify = try bool(node["insecure-skip-tls-verify"], "insecure-skip-tls-verify")
        cluster.tlsServerName = try string(node["tls-server-name"], "tls-server-name").flatMap {
            $0.isEmpty ? nil : $0
        }
        if node["proxy-url"] != nil { cluster.unsupported.append("a proxy-url") }
        return cluster
    }

    mutating func user(_ node: YAMLNode, name: String) throws(DiscoveryError) -> Kubeconfig.User {
        place = "user \(name)"
        var user = Kubeconfig.User()
        user.token = try string(node["token"], "token").flatMap { $0.isEmpty ? nil : $0 }
        user.tokenFile = try file(node["tokenFile"], "tokenFile")
        user.clientCertificate = try file(node["client-certificate"], "client-certificate")
        user.clientCertificateData = try data(node["client-certificate-data"], "client-certificate-data")
        user.clientKey = try file(node["client-key"], "client-key")
        user.clientKeyData = try data(node["client-key-data"], "client-key-data")
        user.username = try string(node["username"], "username").flatMap { $0.isEmpty ? nil : $0 }
        user.password = try string(node["password"], "password")
        if let exec = node["exec"] {
            (user.exec, user.provideClusterInfo) = try execPlugin(exec)
        }
        if node["auth-provider"] != nil { user.unsupported.append("an auth-provider") }
        if node["as"] != nil || node["as-groups"] != nil || node["as-uid"] != nil {
            user.unsupported.append("impersonation (as)")
        }
        return user
    }

    /// A user's `exec`, checked as client-go checks it.
    mutating func execPlugin(_ node: YAMLNode) throws(DiscoveryError) -> (ExecCredentialPlugin, Bool) {
        guard case .mapping = node else { throw invalid("field exec is not a mapping") }
        place += " exec"
        guard let command = try string(node["command"], "command"), !command.isEmpty else {
            throw invalid("has no command")
        }
        let apiVersion = try string(node["apiVersion"], "apiVersion") ?? ""
        guard apiVersion == ExecCredentialPlugin.v1 || apiVersion == ExecCredentialPlugin.v1beta1 else {
            throw invalid(
                apiVersion.isEmpty
                    ? "has no apiVersion (\(ExecCredentialPlugin.v1) or \(ExecCredentialPlugin.v1beta1))"
                    : "has apiVersion '\(apiVersion)': sdctl speaks \(ExecCredentialPlugin.v1) and \(ExecCredentialPlugin.v1beta1)"
            )
        }
        switch try string(node["interactiveMode"], "interactiveMode") {
        case nil where apiVersion == ExecCredentialPlugin.v1:
            throw invalid("has no interactiveMode, which \(ExecCredentialPlugin.v1) requires")
        case nil, "Never", "IfAvailable":
            break
        case "Always":
            throw invalid(
                "has interactiveMode Always: sdctl runs credential plugins without a terminal (use Never or IfAvailable)"
            )
        case let mode?:
            throw invalid("has interactiveMode '\(mode)', not Never, IfAvailable or Always")
        }
        var arguments: [String] = []
        if let args = node["args"] {
            guard case .sequence(let items) = args else { throw invalid("field args is not a list") }
            for item in items {
                guard let argument = try string(item, "args") else {
                    throw invalid("field args is not a list")
                }
                arguments.append(argument)
            }
        }
        var environment: [ExecCredentialPlugin.EnvironmentVariable] = []
        if let env = node["env"] {
            guard case .sequence(let items) = env else { throw invalid("field env is not a list") }
            for item in items {
                guard let name = try string(item["name"], "env name"), !name.isEmpty, !name.contains("=")
                else {
                    throw invalid("has an env entry without a valid name")
                }
                environment.append(.init(name: name, value: try string(item["value"], "env value") ?? ""))
            }
        }
        // As client-go: a command with a path in it is relative to the kubeconfig; a bare name
        // is looked up on PATH.
        let resolved = command.contains("/") ? (try file(node["command"], "command") ?? command) : command
        let plugin = ExecCredentialPlugin(
            command: resolved, arguments: arguments, environment: environment, apiVersion: apiVersion,
            installHint: try string(node["installHint"], "installHint"))
        return (plugin, try bool(node["provideClusterInfo"], "provideClusterInfo"))
    }
}
