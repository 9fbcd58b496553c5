import Discovery
import Foundation
import TestSupport
import Testing

@testable import KubernetesDiscovery

/// Exec credential plugins against the emulator: a shell script stands in for `aws eks
/// get-token`, counting its runs in a file.
@Suite("Kubernetes: exec credential plugins")
struct ExecCredentialTests {
    /// Prints an ExecCredential whose token is line N of `tokens` on its Nth run (the last line
    /// after that), with `expiry` as its expirationTimestamp when that file exists. Records each
    /// run's KUBERNETES_EXEC_INFO in `info`.
    static let plugin = #"""
        #!/bin/sh
        n=$(cat "$PLUGIN_DIR/runs" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$PLUGIN_DIR/runs"
        printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/info"
        token=$(sed -n "${n}p" "$PLUGIN_DIR/tokens"); [ -n "$token" ] || token=$(tail -n 1 "$PLUGIN_DIR/tokens")
        expiry=""; [ -f "$PLUGIN_DIR/expiry" ] && expiry=",\"expirationTimestamp\":\"$(cat "$PLUGIN_DIR/expiry")\""
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$token" "$expiry"
        """#

    /// A directory with the plugin (as `plugin`) and `tokens`.
    struct Plugin {
        let directory: TemporaryDirectory
        var path: String { directory.path + "/plugin" }
        var runs: Int {
            Int(
                ((try? String(contentsOfFile: directory.path + "/runs", encoding: .utf8)) ?? "0")
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        init(script: String = ExecCredentialTests.plugin, tokens: [String], expiry: String? = nil) throws {
            directory = TemporaryDirectory("sdctl-exec-plugin")
            try writeExecutableScript(script, to: directory.path + "/plugin")
            try (tokens.joined(separator: "\n") + "\n").write(
                toFile: directory.path + "/tokens", atomically: true, encoding: .utf8)
            if let expiry {
                try expiry.write(toFile: directory.path + "/expiry", atomically: true, encoding: .utf8)
            }
        }

        func configuration(timeout: Duration = .seconds(20), hint: String? = nil) -> ExecCredentialPlugin {
            // Through sh, so that no other test's child can hold the script open for writing.
            ExecCredentialPlugin(
                command: "/bin/sh", arguments: [path],
                environment: [.init(name: "PLUGIN_DIR", value: directory.path)],
                installHint: hint,
                timeout: timeout)
        }
    }

    static func client(_ emulator: KubernetesEmulator, _ plugin: ExecCredentialPlugin) throws
        -> KubernetesClient
    {
        try KubernetesClient(
            .init(
                server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                credentials: .exec(plugin)))
    }

    static func list(_ client: KubernetesClient) async throws(DiscoveryError) -> Int {
        try await client.endpointSlices(namespace: "default", service: "web", maximumSlices: 100).items.count
    }

    static func seed(_ emulator: KubernetesEmulator) async throws {
        try await emulator.createService("web")
        try await emulator.putSlice("web-1", service: "web", endpoints: [.init("10.0.0.1")])
    }

    @Test(
        "the plugin runs once and its token is kept while it has no expiry; it is told it is not interactive")
    func cached() async throws {
        let plugin = try Plugin(tokens: ["emulator-token"])
        defer { plugin.directory.remove() }
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let client = try Self.client(emulator, plugin.configuration())
            defer { client.close() }
            for _ in 0..<3 { #expect(try await Self.list(client) == 1) }
            // Concurrent first requests share one run too.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await Self.list(client) } }
                for try await count in group { #expect(count == 1) }
            }
            #expect(plugin.runs == 1)
            let info = try String(contentsOfFile: plugin.directory.path + "/info", encoding: .utf8)
            #expect(
                info.contains(#""interactive":false"#) && info.contains(#""kind":"ExecCredential""#),
                "\(info)")
        }
    }

    @Test("an expired credential runs the plugin again")
    func expired() async throws {
        let plugin = try Plugin(tokens: ["emulator-token"], expiry: "2001-01-01T00:00:00Z")
        defer { plugin.directory.remove() }
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let client = try Self.client(emulator, plugin.configuration())
            defer { client.close() }
            for _ in 0..<3 { #expect(try await Self.list(client) == 1) }
            #expect(plugin.runs == 3)
        }
        let future = try Plugin(tokens: ["emulator-token"], expiry: "2999-01-01T00:00:00.5Z")
        defer { future.directory.remove() }
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let client = try Self.client(emulator, future.configuration())
            defer { client.close() }
            for _ in 0..<3 { #expect(try await Self.list(client) == 1) }
            #expect(future.runs == 1)
        }
    }

    @Test(
        "a 401 runs the plugin again once: a new token is used; one refused again is permission denied, and never printed"
    )
    func refused() async throws {
        let plugin = try Plugin(tokens: ["stale-token", "emulator-token"])
        defer { plugin.directory.remove() }
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let client = try Self.client(emulator, plugin.configuration())
            defer { client.close() }
            #expect(try await Self.list(client) == 1)
            #expect(try await Self.list(client) == 1)
            #expect(plugin.runs == 2)
        }
        let revoked = try Plugin(tokens: ["revoked-token"])
        defer { revoked.directory.remove() }
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let client = try Self.client(emulator, revoked.configuration())
            defer { client.close() }
            let error = await #expect(throws: DiscoveryError.self) { try await Self.list(client) }
            #expect(error?.code == .permissionDenied, "\(String(describing: error))")
            #expect(error.map { !"\($0)".contains("revoked-token") } == true)
            #expect(revoked.runs == 2)
        }
    }

    @Test(
        "a plugin that fails says how, in one line, and never hangs",
        arguments: [
            (
                "printf 'login required: run\\033[31m sso login\\n' >&2; exit 1",
                "exited with status 1: login required: run", DiscoveryError.Code.permissionDenied
            ),
            ("echo not json", "printed no ExecCredential", .invalidResponse),
            (
                #"echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}'"#,
                "not client.authentication.k8s.io/v1 as the kubeconfig says", .invalidResponse
            ),
            (
                #"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"x"}}'"#,
                "gave clientCertificateData without clientKeyData", .invalidResponse
            ),
            (
                #"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientKeyData":"y"}}'"#,
                "gave clientKeyData without clientCertificateData", .invalidResponse
            ),
            (
                #"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":""}}'"#,
                "gave neither a token nor a client certificate", .permissionDenied
            ),
            (
                #"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"soon"}}'"#,
                "not RFC 3339", .invalidResponse
            ),
            ("head -c 3000000 /dev/zero", "printed more than 1 MiB", .invalidResponse),
            ("exec sleep 60", "did not finish within", .timedOut),
            ("sleep 60 & echo '{}'", "did not finish within", .timedOut),
            ("kill -9 $$", "killed by signal 9", .permissionDenied),
        ] as [(String, String, DiscoveryError.Code)])
    func failures(body: String, expected: String, code: DiscoveryError.Code) async throws {
        let plugin = try Plugin(script: "#!/bin/sh\n" + body + "\n", tokens: ["t"])
        defer { plugin.directory.remove() }
        let started = ContinuousClock.now
        let error = await #expect(throws: DiscoveryError.self) {
            _ = try await ExecCredentialSource.run(plugin.configuration(timeout: .seconds(1)))
        }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.code == code, "\(String(describing: error))")
        #expect(error?.message.contains("\u{1B}") == false)
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test("forty plugin runs at once each get their own deadline, not a place in a shared pool's queue")
    func concurrentRuns() async throws {
        let plugin = try Plugin(script: "#!/bin/sh\nexec sleep 60\n", tokens: ["t"])
        defer { plugin.directory.remove() }
        let configuration = plugin.configuration(timeout: .seconds(3))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: DiscoveryError.Code?.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    do {
                        _ = try await ExecCredentialSource.run(configuration)
                        return nil
                    } catch {
                        return (error as? DiscoveryError)?.code
                    }
                }
            }
            for try await code in group { #expect(code == .timedOut) }
        }
        // On Dispatch's global queue, a few at a time, forty 1 s runs took 9 s: forty of 3 s
        // would take 27 s. Each on its own thread they take their 3 s, and what spawning forty
        // processes costs (7 s more was seen while the suite's start loaded 2 cores).
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    @Test("a plugin that is not installed says so, with the kubeconfig's installHint")
    func notInstalled() async throws {
        let plugin = ExecCredentialPlugin(
            command: "sdctl-no-such-credential-plugin", installHint: "install it from https://example.invalid"
        )
        let error = await #expect(throws: DiscoveryError.self) {
            _ = try await ExecCredentialSource.run(plugin)
        }
        #expect(
            error?.message
                == "k8s: the exec credential plugin 'sdctl-no-such-credential-plugin' is not installed: install it from https://example.invalid"
        )
    }

    /// Prints an ExecCredential with the PEM client certificate and key in `$PLUGIN_DIR/client.pem`
    /// and `client.key` (JSON-escaped by awk), and an expiry when `$PLUGIN_DIR/expiry` exists.
    static let certificatePlugin = #"""
        #!/bin/sh
        n=$(cat "$PLUGIN_DIR/runs" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$PLUGIN_DIR/runs"
        json() { awk 'BEGIN { ORS = "" } { gsub(/\\/, "\\\\"); print $0 "\\n" }' "$1"; }
        expiry=""; [ -f "$PLUGIN_DIR/expiry" ] && expiry=",\"expirationTimestamp\":\"$(cat "$PLUGIN_DIR/expiry")\""
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"%s}}\n' \
            "$(json "$PLUGIN_DIR/client.pem")" "$(json "$PLUGIN_DIR/client.key")" "$expiry"
        """#

    @Test(
        "a client certificate from the plugin is presented over TLS in place of a token, kept until it expires"
    )
    func clientCertificate() async throws {
        let plugin = try Plugin(script: Self.certificatePlugin, tokens: [], expiry: "2001-01-01T00:00:00Z")
        defer { plugin.directory.remove() }
        let tls = TemporaryDirectory("sdctl-exec-plugin-tls")
        defer { tls.remove() }
        let certificates = try await TestCertificates.make(in: tls.path)
        try FileManager.default.copyItem(
            atPath: certificates.clientCertificate, toPath: plugin.directory.path + "/client.pem")
        try FileManager.default.copyItem(
            atPath: certificates.clientKey, toPath: plugin.directory.path + "/client.key")
        // The server asks for a certificate signed by the test CA, and wants the token from
        // anyone who has none: the list passes only if the plugin's certificate was presented.
        let options = KubernetesEmulator.Options.mutualTLS(certificates)
        try await KubernetesEmulator.with(options) { emulator in
            try await Self.seed(emulator)
            let client = try KubernetesClient(
                .init(
                    server: .https(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                    tls: .init(caFile: certificates.caFile), credentials: .exec(plugin.configuration())))
            defer { client.close() }
            for _ in 0..<2 { #expect(try await Self.list(client) == 1) }
            #expect(plugin.runs == 2, "expired: run again for each request")
            try "2999-01-01T00:00:00Z".write(
                toFile: plugin.directory.path + "/expiry", atomically: true, encoding: .utf8)
            for _ in 0..<3 { #expect(try await Self.list(client) == 1) }
            #expect(plugin.runs == 3, "kept until it expires")
        }
    }

    @Test("a plugin's certificate that cannot be used, or one for a plain-HTTP server, is one clear error")
    func unusableClientCertificate() async throws {
        let plugin = try Plugin(script: Self.certificatePlugin, tokens: [])
        defer { plugin.directory.remove() }
        try "not a certificate\n".write(
            toFile: plugin.directory.path + "/client.pem", atomically: true, encoding: .utf8)
        try "not a key\n".write(
            toFile: plugin.directory.path + "/client.key", atomically: true, encoding: .utf8)
        let https = try KubernetesClient(
            .init(
                server: .https(HostPort(host: "127.0.0.1", port: 9)),
                credentials: .exec(plugin.configuration())))
        defer { https.close() }
        let unusable = await #expect(throws: DiscoveryError.self) { try await Self.list(https) }
        #expect(unusable?.code == .invalidResponse)
        #expect(
            unusable?.message.contains(
                "gave a client certificate that cannot be used: the exec credential plugin's clientCertificate-data: cannot load PEM certificates"
            ) == true,
            "\(unusable?.message ?? "")")
        let http = try KubernetesClient(
            .init(
                server: .http(HostPort(host: "127.0.0.1", port: 9)),
                credentials: .exec(plugin.configuration())))
        defer { http.close() }
        let plain = await #expect(throws: DiscoveryError.self) { try await Self.list(http) }
        #expect(plain?.code == .invalidArgument)
        #expect(plain?.message.contains("gave a client certificate, which needs an https server") == true)
    }
}
