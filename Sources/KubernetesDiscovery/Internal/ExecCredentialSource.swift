import Discovery
import DiscoveryHTTP
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The credential an ``ExecCredentialPlugin`` prints (a bearer token, a client certificate, or
/// both), kept until it expires or is refused. Concurrent callers share one run of the plugin.
final class ExecCredentialSource: Sendable {
    let plugin: ExecCredentialPlugin
    private let state = Mutex<State>(.empty)

    private enum State {
        case empty
        case running(Task<Credential, any Error>)
        case held(Credential)
    }

    /// What ``credential()`` does after looking at the state: a credential held, or a run to
    /// wait for.
    private enum Next {
        case held(Credential)
        case await(Task<Credential, any Error>)
    }

    struct Credential: Sendable, Equatable {
        /// A bearer token, when the plugin gave one.
        var token: String?
        /// A client certificate and its key, when the plugin gave them.
        var certificate: ClientCertificate?
        var expiry: Date?
    }

    /// PEM as the plugin printed it (`clientCertificateData`, `clientKeyData`).
    struct ClientCertificate: Sendable, Equatable {
        var certificatePEM: [UInt8]
        var keyPEM: [UInt8]
    }

    init(plugin: ExecCredentialPlugin) {
        self.plugin = plugin
    }

    /// The credential held while it has not expired, else a new one from a run of the plugin.
    func credential() async throws(DiscoveryError) -> Credential {
        let next = state.withLock { state -> Next in
            switch state {
            case .held(let credential) where credential.expiry.map({ Date.now < $0 }) ?? true:
                return .held(credential)
            case .running(let task):
                return .await(task)
            case .empty, .held:
                let task = Task { [plugin] in try await Self.run(plugin) }
                state = .running(task)
                return .await(task)
            }
        }
        let task: Task<Credential, any Error>
        switch next {
        case .held(let credential): return credential
        case .await(let running): task = running
        }
        do {
            let credential = try await task.value
            state.withLock { state in
                if case .running(let current) = state, current == task { state = .held(credential) }
            }
            return credential
        } catch {
            state.withLock { state in
                if case .running(let current) = state, current == task { state = .empty }
            }
            throw error as? DiscoveryError ?? DiscoveryError(.io, "k8s: exec credential plugin: \(error)")
        }
    }

    /// Forgets `credential` after the API server refused it (401), so that the next request
    /// runs the plugin again; a newer credential is kept.
    func refused(_ credential: Credential) {
        state.withLock { state in
            if case .held(let held) = state, held == credential { state = .empty }
        }
    }

    /// Runs the plugin once and reads its `ExecCredential`.
    static func run(_ plugin: ExecCredentialPlugin) async throws(DiscoveryError) -> Credential {
        let name = "the exec credential plugin '\(HTTPTransport.oneLine(Array(plugin.command.utf8)))'"
        let output: PluginProcess.Output
        do {
            output = try await PluginProcess.run(
                [plugin.command] + plugin.arguments,
                environment: plugin.environment.map { (name: $0.name, value: $0.value) } + [
                    (name: "KUBERNETES_EXEC_INFO", value: execInfo(plugin))
                ],
                timeout: plugin.timeout)
        } catch {
            switch error {
            case .cannotStart(let errno) where errno == ENOENT:
                let hint = plugin.installHint.map { ": " + HTTPTransport.oneLine(Array($0.utf8)) } ?? ""
                throw DiscoveryError(.permissionDenied, "k8s: \(name) is not installed\(hint)")
            case .cannotStart(let errno):
                throw DiscoveryError(
                    .permissionDenied, "k8s: cannot start \(name): \(String(cString: strerror(errno)))")
            case .timedOut:
                throw DiscoveryError(.timedOut, "k8s: \(name) did not finish within \(plugin.timeout)")
            case .outputTooLarge:
                throw DiscoveryError(
                    .invalidResponse, "k8s: \(name) printed more than \(PluginProcess.stdoutLimit >> 20) MiB")
            case .killed(let signal):
                throw DiscoveryError(.permissionDenied, "k8s: \(name) was killed by signal \(signal)")
            case .cannotRead(let errno):
                throw DiscoveryError(
                    .io, "k8s: cannot read the output of \(name): \(String(cString: strerror(errno)))")
            }
        }
        guard output.status == 0 else {
            let said = lastLine(output.stderr)
            throw DiscoveryError(
                .permissionDenied,
                "k8s: \(name) exited with status \(output.status)\(said.isEmpty ? "" : ": " + said)")
        }
        return try credential(output.stdout, plugin: plugin, name: name)
    }

    /// The credential in a plugin's stdout, checked as client-go checks it.
    static func credential(_ bytes: [UInt8], plugin: ExecCredentialPlugin, name: String)
        throws(DiscoveryError)
        -> Credential
    {
        struct ExecCredential: Decodable {
            struct Status: Decodable {
                var token: String?
                var expirationTimestamp: String?
                var clientCertificateData: String?
                var clientKeyData: String?
            }
            var apiVersion: String?
            var kind: String?
            var status: Status?
        }
        let decoded: ExecCredential
        do {
            decoded = try JSONDecoder().decode(ExecCredential.self, from: Data(bytes))
        } catch {
            throw DiscoveryError(
                .invalidResponse,
                "k8s: \(name) printed no ExecCredential (\(HTTPTransport.describe(decoding: error)))",
                cause: error)
        }
        guard decoded.kind == "ExecCredential" else {
            throw DiscoveryError(.invalidResponse, "k8s: \(name) printed a kind other than ExecCredential")
        }
        guard decoded.apiVersion == plugin.apiVersion else {
            throw DiscoveryError(
                .invalidResponse,
                "k8s: \(name) answered in \(HTTPTransport.oneLine(Array((decoded.apiVersion ?? "no apiVersion").utf8))), not \(plugin.apiVersion) as the kubeconfig says"
            )
        }
        guard let status = decoded.status else {
            throw DiscoveryError(.invalidResponse, "k8s: \(name) printed an ExecCredential without a status")
        }
        // As client-go checks it: a token, a certificate with its key, or both.
        let token = status.token.flatMap { $0.isEmpty ? nil : $0 }
        let certificate = status.clientCertificateData.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        let key = status.clientKeyData.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        switch (certificate, key) {
        case (.some, nil):
            throw DiscoveryError(
                .invalidResponse, "k8s: \(name) gave clientCertificateData without clientKeyData")
        case (nil, .some):
            throw DiscoveryError(
                .invalidResponse, "k8s: \(name) gave clientKeyData without clientCertificateData")
        case (nil, nil) where token == nil:
            throw DiscoveryError(
                .permissionDenied, "k8s: \(name) gave neither a token nor a client certificate")
        default:
            break
        }
        var expiry: Date?
        if let text = status.expirationTimestamp {
            guard let date = parseTimestamp(text) else {
                throw DiscoveryError(
                    .invalidResponse,
                    "k8s: \(name) gave an expirationTimestamp that is not RFC 3339: \(HTTPTransport.oneLine(Array(text.utf8)))"
                )
            }
            expiry = date
        }
        return Credential(
            token: token,
            certificate: certificate.flatMap { certificate in
                key.map { ClientCertificate(certificatePEM: certificate, keyPEM: $0) }
            },
            expiry: expiry)
    }

    static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `KUBERNETES_EXEC_INFO`: the ExecCredential input, never interactive.
    static func execInfo(_ plugin: ExecCredentialPlugin) -> String {
        struct Input: Encodable {
            struct Spec: Encodable {
                struct Cluster: Encodable {
                    var server: String
                    var certificateAuthorityData: String?
                    var insecureSkipTLSVerify: Bool?
                    var tlsServerName: String?

                    enum CodingKeys: String, CodingKey {
                        case server
                        case certificateAuthorityData = "certificate-authority-data"
                        case insecureSkipTLSVerify = "insecure-skip-tls-verify"
                        case tlsServerName = "tls-server-name"
                    }
                }
                var interactive = false
                var cluster: Cluster?
            }
            var apiVersion: String
            var kind = "ExecCredential"
            var spec: Spec
        }
        let cluster = plugin.clusterInfo.map {
            Input.Spec.Cluster(
                server: $0.server,
                certificateAuthorityData: $0.certificateAuthorityData.map { Base64.encode($0) },
                insecureSkipTLSVerify: $0.insecureSkipTLSVerify ? true : nil, tlsServerName: $0.tlsServerName)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data =
            (try? encoder.encode(Input(apiVersion: plugin.apiVersion, spec: .init(cluster: cluster))))
            ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func lastLine(_ bytes: [UInt8]) -> String {
        let lines = bytes.split(separator: UInt8(ascii: "\n")).filter {
            !$0.allSatisfy { $0 == 32 || $0 == 13 }
        }
        return lines.last.map { HTTPTransport.oneLine(Array($0)) } ?? ""
    }
}
