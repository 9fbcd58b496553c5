import Discovery
import FileDiscovery

/// Where a service lives, parsed from a TARGET argument (docs/targets.md): a bare service name
/// (the embedded file backend) or a URL whose scheme picks the backend.
public struct Target: Sendable {
    /// Every backend this build of sdctl has, in the order their schemes are listed in messages.
    static var backends: [any DiscoveryBackend.Type] { BackendDescription.built }

    let backend: any DiscoveryBackend

    /// The URL scheme, or `file` for bare names.
    public var scheme: String { backend.scheme }

    /// Parses a TARGET; bare names resolve under `$SDCTL_HOME`.
    public init(parsing text: String, environment: [String: String]) throws(CLIError) {
        try self.init(parsing: text, environment: environment, backends: Self.backends)
    }

    /// Parses a TARGET with only `backends` built in (tests: a build with fewer traits).
    init(parsing text: String, environment: [String: String], backends: [any DiscoveryBackend.Type])
        throws(CLIError)
    {
        guard let schemeEnd = text.firstRange(of: "://") else {
            backend = try FileBackend(serviceName: text, environment: environment)
            return
        }
        let url = try TargetURL(
            text, scheme: text[..<schemeEnd.lowerBound].lowercased(), rest: text[schemeEnd.upperBound...])
        guard let type = backends.first(where: { $0.schemes.contains(url.scheme) }) else {
            if let trait = BackendDescription.named(scheme: url.scheme)?.trait {
                throw url.invalid(
                    "this sdctl was built without the \(url.scheme):// backend, package trait \(trait); "
                        + "bash .ci/install builds every backend")
            }
            let known = backends.flatMap { $0.schemes }.joined(separator: ", ")
            throw url.invalid("unknown scheme '\(url.scheme)' (known: \(known))")
        }
        backend = try type.init(url: url, environment: environment)
    }
}
