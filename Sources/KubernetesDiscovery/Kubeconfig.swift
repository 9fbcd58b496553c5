import Discovery
import DiscoveryHTTP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A kubeconfig, read and merged as kubectl reads it, and turned into a client
/// ``KubernetesClient/Configuration`` for one of its contexts.
///
/// Several files (KUBECONFIG's list) merge the way client-go's loading rules merge them: the
/// first file to name a cluster, user or context wins it, and the first `current-context` that
/// is set wins. Relative paths in a file (`certificate-authority`, `client-certificate`,
/// `client-key`, `tokenFile`) are relative to that file's directory. Secrets (tokens,
/// passwords, keys) are never in a message.
///
/// Read: a cluster's `server` (http or https, no path), `certificate-authority(-data)`,
/// `insecure-skip-tls-verify` and `tls-server-name`; a user's `token`, `tokenFile`,
/// `client-certificate(-data)`, `client-key(-data)`, `username`, `password` and `exec` (a
/// credential plugin that prints a token; see ``ExecCredentialPlugin``). A user with an
/// `auth-provider` or impersonation (`as`), and a cluster with a `proxy-url`, are refused with
/// a message that says so rather than used without what they ask for.
public struct Kubeconfig: Sendable, Equatable {
    public struct Cluster: Sendable, Equatable {
        public var server: String
        public var certificateAuthority: String?
        public var certificateAuthorityData: [UInt8]?
        public var insecureSkipTLSVerify = false
        public var tlsServerName: String?
        /// What this cluster asks for that sdctl does not do (`proxy-url`).
        public var unsupported: [String] = []
    }

    public struct User: Sendable, Equatable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: [UInt8]?
        public var clientKey: String?
        public var clientKeyData: [UInt8]?
        public var username: String?
        public var password: String?
        /// An `exec` credential plugin (``ExecCredentialPlugin/clusterInfo`` is filled in from
        /// the context's cluster when ``provideClusterInfo`` says so).
        public var exec: ExecCredentialPlugin?
        public var provideClusterInfo = false
        /// What this user asks for that sdctl does not do (`auth-provider`, `as`).
        public var unsupported: [String] = []
    }

    public struct Context: Sendable, Equatable {
        public var cluster: String
        public var user: String?
        public var namespace: String?
    }

    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?
    /// The files read, in order, for messages.
    public var files: [String] = []

    /// The largest kubeconfig file read.
    public static let maximumFileSize = 4 << 20

    public init() {}

    /// The files kubectl would read: KUBECONFIG's entries (`:`-separated, empty ones and repeats
    /// skipped), else `$HOME/.kube/config`.
    public static func paths(environment: [String: String]) -> [String] {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            return list.split(separator: ":").map(String.init).filter { seen.insert($0).inserted }
        }
        guard let home = environment["HOME"], !home.isEmpty else { return [] }
        return [home + "/.kube/config"]
    }

    /// Reads and merges `paths`; a file that does not exist is skipped, as kubectl skips it, but
    /// one that exists and cannot be read or parsed is an error. None at all is
    /// `DiscoveryError/Code/invalidArgument`.
    public static func load(paths: [String]) throws(DiscoveryError) -> Kubeconfig {
        var merged = Kubeconfig()
        for path in paths {
            let bytes: [UInt8]
            do {
                bytes = try TextFile.contents(of: path, limit: maximumFileSize)
            } catch let error as TextFile.Unreadable where error.errno == ENOENT {
                continue
            } catch is TextFile.TooLarge {
                throw DiscoveryError(
                    .invalidArgument, "k8s: kubeconfig \(path) is larger than \(maximumFileSize >> 20) MiB")
            } catch {
                throw DiscoveryError(.invalidArgument, "k8s: cannot read kubeconfig \(path)", cause: error)
            }
            merged.merge(try Kubeconfig(parsing: bytes, path: path))
        }
        guard !merged.files.isEmpty else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: no kubeconfig: \(paths.isEmpty ? "neither KUBECONFIG nor HOME is set" : "\(paths.joined(separator: ", ")) not found")"
            )
        }
        return merged
    }

    /// Adds what `other` names that this one does not: the first definition of a name wins.
    public mutating func merge(_ other: Kubeconfig) {
        clusters.merge(other.clusters) { first, _ in first }
        users.merge(other.users) { first, _ in first }
        contexts.merge(other.contexts) { first, _ in first }
        if currentContext == nil { currentContext = other.currentContext }
        files += other.files
    }
}
