import Discovery
import FileDiscovery

/// Where a service lives, parsed from a TARGET argument (docs/targets.md): a bare service name
/// (the embedded file backend) or a URL whose scheme picks the backend.
public struct Target: Sendable {
    /// Every backend sdctl knows, in the order their schemes are listed in messages.
    static let backends: [any DiscoveryBackend.Type] = [
        FileBackend.self, ZooKeeperBackend.self, EtcdBackend.self, ConsulBackend.self, EurekaBackend.self,
        SRVBackend.self,
    ]

    let backend: any DiscoveryBackend

    /// The URL scheme, or `file` for bare names.
    public var scheme: String { backend.scheme }

    /// Parses a TARGET; bare names resolve under `$SDCTL_HOME`.
    public init(parsing text: String, environment: [String: String]) throws(CLIError) {
        guard let schemeEnd = text.firstRange(of: "://") else {
            backend = try FileBackend(serviceName: text, environment: environment)
            return
        }
        let url = try TargetURL(
            text, scheme: text[..<schemeEnd.lowerBound].lowercased(), rest: text[schemeEnd.upperBound...])
        guard let type = Self.backends.first(where: { $0.schemes.contains(url.scheme) }) else {
            let known = Self.backends.flatMap { $0.schemes }.joined(separator: ", ")
            throw url.invalid("unknown scheme '\(url.scheme)' (known: \(known))")
        }
        backend = try type.init(url: url, environment: environment)
    }
}
