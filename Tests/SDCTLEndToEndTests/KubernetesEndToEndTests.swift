import Foundation
import TestSupport
import Testing

/// `sdctl` on `k8s://` targets against the Kubernetes emulator, with the official `kubernetes`
/// Python client making changes on the other side.
@Suite("sdctl end to end, on Kubernetes", .serialized)
struct KubernetesEndToEndTests {
    let env = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]
    typealias Endpoint = KubernetesEmulator.Endpoint

    /// The official client's own calls: creates (or deletes) EndpointSlice `py-1` of Service
    /// `web` with one ready endpoint, 10.0.0.9:8080, in pod `py-pod`, zone `zone-b`; an empty
    /// token sends none.
    static let pyKubernetes = """
        import sys
        from kubernetes import client
        server, token, action = sys.argv[1], sys.argv[2], sys.argv[3]
        configuration = client.Configuration()
        configuration.host = server
        if token:
            configuration.api_key = {"authorization": token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        api = client.DiscoveryV1Api(client.ApiClient(configuration))
        if action == "create":
            api.create_namespaced_endpoint_slice("default", client.V1EndpointSlice(
                metadata=client.V1ObjectMeta(name="py-1", labels={"kubernetes.io/service-name": "web"}),
                address_type="IPv4",
                endpoints=[client.V1Endpoint(addresses=["10.0.0.9"], conditions=client.V1EndpointConditions(ready=True),
                                             target_ref=client.V1ObjectReference(kind="Pod", name="py-pod"),
                                             zone="zone-b")],
                ports=[client.DiscoveryV1EndpointPort(name="http", port=8080)]))
        else:
            api.delete_namespaced_endpoint_slice("py-1", "default")
        """

    func py(_ emulator: KubernetesEmulator, _ action: String) async throws {
        _ = try await PythonClients.run(
            Self.pyKubernetes,
            arguments: ["http://\(emulator.address)", emulator.options.token ?? "", action])
    }

    /// The emulator without a token requirement: targets with a host send no credentials (only
    /// `k8s:///` targets read a kubeconfig).
    static let anonymous = KubernetesEmulator.Options(token: nil)

    @Test("the official client's slice is seen by sdctl watch as it comes and goes; resolve prints the set")
    func interop() async throws {
        try await KubernetesEmulator.with(Self.anonymous) { emulator in
            try await emulator.createService("web")
            try await emulator.putSlice(
                "web-1", service: "web", endpoints: [Endpoint("10.0.0.1", pod: "web-a")])
            let target = "k8s://\(emulator.address)/default/web"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""address":"10.0.0.1:8080""#) }
            try await py(emulator, "create")
            let added = try await watcher.line {
                $0.contains(#""added":[{"address":"10.0.0.9:8080","id":"py-pod""#)
            }
            #expect(added.contains(#""zone":"zone-b""#), "\(added)")
            let resolved = try await runSDCTL(["resolve", target], environment: env)
            #expect(
                resolved.status == 0 && resolved.lines == ["10.0.0.1:8080", "10.0.0.9:8080"], "\(resolved)")
            try await py(emulator, "delete")
            try await watcher.line { $0.contains(#""removed":[{"address":"10.0.0.9:8080""#) }
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("the live view on a terminal (tmux): a slice's endpoints join and leave in place; q exits 0")
    func liveView() async throws {
        let directory = TemporaryDirectory("sdctl-k8s-live")
        defer { directory.remove() }
        try await KubernetesEmulator.with(Self.anonymous) { emulator in
            try await emulator.createService("web")
            try await emulator.putSlice(
                "web-1", service: "web", endpoints: [Endpoint("10.0.0.1", pod: "web-a", zone: "zone-a")])
            let command =
                "echo BEFORE-THE-WATCH; SDCTL_HOME=/nonexistent NO_COLOR=1 \(RunningProcess.sdctl) watch "
                + "k8s://\(emulator.address)/default/web; echo exit=$? > \(directory.path)/status; sleep 60"
            try await TmuxSession.with(command: command) { terminal in
                let table = try await terminal.waitForScreen("the table") { $0.contains("10.0.0.1:8080") }
                #expect(table[0].contains("1 instance"), "\(table)")
                #expect(!table.contains("BEFORE-THE-WATCH"), "the alternate screen hides what was there")
                try await emulator.putSlice(
                    "web-2", service: "web", endpoints: [Endpoint("10.0.0.2", pod: "web-b", zone: "zone-b")])
                let joined = try await terminal.waitForScreen("the join") { $0.hasPrefix("+ 10.0.0.2:8080") }
                #expect(joined[0].contains("2 instances"), "\(joined[0])")
                try await emulator.deleteSlice("web-2")
                try await terminal.waitForScreen("the leave") {
                    $0.hasPrefix("- 10.0.0.2:8080") && $0.contains("left")
                }
                try await terminal.sendKeys("q")
                try await eventually(.seconds(10), "sdctl watch to exit") {
                    FileManager.default.fileExists(atPath: directory.path + "/status")
                }
                #expect(try String(contentsOfFile: directory.path + "/status", encoding: .utf8) == "exit=0\n")
                #expect(try await terminal.screen().first == "BEFORE-THE-WATCH")
            }
        }
    }

    @Test("exit codes: unknown Service 3, several ports 2, register 2, refused 77, unreachable 69")
    func exitCodes() async throws {
        try await KubernetesEmulator.with(Self.anonymous) { emulator in
            try await emulator.createService("web", ports: ["http", "grpc"])
            try await emulator.putSlice(
                "web-1", service: "web", endpoints: [Endpoint("10.0.0.1")],
                ports: [("http", 8080), ("grpc", 9090)])
            let base = "k8s://\(emulator.address)/default"
            let unknown = try await runSDCTL(["resolve", "\(base)/nosuch"], environment: env)
            #expect(unknown.status == 3 && unknown.stderr.contains("service nosuch not found"), "\(unknown)")
            let several = try await runSDCTL(["resolve", "\(base)/web"], environment: env)
            #expect(
                several.status == 2 && several.stderr.contains("several ports (grpc, http)"), "\(several)")
            let grpc = try await runSDCTL(["resolve", "\(base)/web?port=grpc"], environment: env)
            #expect(grpc.status == 0 && grpc.lines == ["10.0.0.1:9090"], "\(grpc)")
            let register = try await runSDCTL(["register", "\(base)/web", "10.0.0.5:80"], environment: env)
            #expect(
                register.status == 2 && register.stderr.contains("Kubernetes is read-only"), "\(register)")
            try await emulator.forbid(#"[{"verb": "list", "resource": "endpointslices"}]"#)
            let refused = try await runSDCTL(["resolve", "\(base)/web?port=http"], environment: env)
            #expect(refused.status == 77, "\(refused)")
            #expect(refused.stderr.contains(#"cannot list resource "endpointslices""#), "\(refused)")
        }
        let port = try FreePorts.take(1)[0]
        let unreachable = try await runSDCTL(
            ["resolve", "k8s://127.0.0.1:\(port)/default/web"], environment: env)
        #expect(unreachable.status == 69, "\(unreachable)")
    }

    @Test("bench propagation writes slices of its own through the API and times what a watcher sees")
    func benchPropagation() async throws {
        try await KubernetesEmulator.with(Self.anonymous) { emulator in
            try await emulator.createService("bench-web")
            let result = try await runSDCTL(
                [
                    "bench", "propagation", "k8s://\(emulator.address)/default/bench-web?port=http",
                    "--rounds", "20",
                    "-o", "json",
                ],
                environment: env, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.joined().contains(#""register":{"p50_ms":"#), "\(result.lines)")
            // Every slice it wrote is deleted again.
            let left = try await emulator.sliceNames()
            #expect(!left.contains { $0.contains("-sdctl-") }, "\(left)")
        }
    }

    @Test("--exec, --compare with the file backend, --probe and --pick work on k8s:// as on any target")
    func everyCommand() async throws {
        try await withSDCTLHome("sdctl-k8s-commands") { home, environment in
            let env = environment.merging(env.filter { $0.key != "SDCTL_HOME" }) { $1 }
            try await KubernetesEmulator.with(Self.anonymous) { emulator in
                let listener = try TCPListener(port: FreePorts.take(1)[0])
                defer { listener.close() }
                let closed = try FreePorts.take(1)[0]
                try await emulator.createService("web")
                try await emulator.putSlice(
                    "web-1", service: "web", endpoints: [Endpoint("127.0.0.1")],
                    ports: [("http", listener.port)])
                try await emulator.putSlice(
                    "web-2", service: "web", endpoints: [Endpoint("127.0.0.2")], ports: [("http", closed)])
                let target = "k8s://\(emulator.address)/default/web"

                let probed = try await runSDCTL(["resolve", target, "--probe", "tcp"], environment: env)
                #expect(probed.status == 0, "\(probed)")
                #expect(
                    probed.lines.contains {
                        $0.hasPrefix("127.0.0.1:\(listener.port) ") && $0.contains(" reachable ")
                    })
                #expect(
                    probed.lines.contains {
                        $0.hasPrefix("127.0.0.2:\(closed) ") && $0.contains(" unreachable ")
                    })

                let picks = try await runSDCTL(
                    ["resolve", target, "--pick", "round-robin", "-n", "4"], environment: env)
                #expect(
                    picks.status == 0
                        && Set(picks.lines) == ["127.0.0.1:\(listener.port)", "127.0.0.2:\(closed)"])

                // A migration from the file backend: one address is in both places.
                let registrar = try RunningProcess(
                    RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(listener.port)"], environment: env)
                try await registrar.line(within: .seconds(20)) { !$0.isEmpty }
                let compared = try await runSDCTL(["resolve", "web", target, "--compare"], environment: env)
                #expect(compared.status == 4, "\(compared)")
                #expect(compared.lines == ["127.0.0.2:\(closed)  in \(target), not in web"], "\(compared)")
                registrar.signal(SIGTERM)
                #expect(try await registrar.wait() == 0)

                // --exec runs with the set on stdin, and again when a slice goes.
                let runs = home.path + "/runs"
                let watcher = try RunningProcess(
                    RunningProcess.sdctl,
                    ["watch", target, "--exec", "echo \"instances=$SDCTL_INSTANCES\" >> \(runs)"],
                    environment: env)
                try await eventually(.seconds(20), "the first run") {
                    ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").contains("instances=2")
                }
                try await emulator.deleteSlice("web-2")
                try await eventually(.seconds(20), "a run after the slice went") {
                    ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").contains("instances=1")
                }
                watcher.signal(SIGTERM)
                _ = try await watcher.wait()
            }
        }
    }

    @Test(
        "inside a cluster: the service account's token and CA over TLS; a refused token is 77 and never printed; a CA that signed nothing is 69"
    )
    func inCluster() async throws {
        let directory = TemporaryDirectory("sdctl-k8s-in-cluster")
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        let account = directory.path + "/serviceaccount"
        try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: certificates.caFile, toPath: account + "/ca.crt")
        try "emulator-token\n".write(toFile: account + "/token", atomically: true, encoding: .utf8)
        let options = KubernetesEmulator.Options(
            token: "emulator-token",
            tls: .init(certificate: certificates.serverCertificate, key: certificates.serverKey))
        try await KubernetesEmulator.with(options) { emulator in
            try await emulator.createService("web")
            try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.1")])
            var cluster = env
            cluster["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            cluster["KUBERNETES_SERVICE_PORT"] = "\(emulator.port)"
            cluster["SDCTL_K8S_SERVICE_ACCOUNT"] = account
            let resolved = try await runSDCTL(["resolve", "k8s:///default/web"], environment: cluster)
            #expect(resolved.status == 0 && resolved.lines == ["10.0.0.1:8080"], "\(resolved)")
            try "wrong-token\n".write(toFile: account + "/token", atomically: true, encoding: .utf8)
            let refused = try await runSDCTL(["resolve", "k8s:///default/web"], environment: cluster)
            #expect(refused.status == 77, "\(refused)")
            #expect(!refused.stderr.contains("wrong-token"), "\(refused)")
            try FileManager.default.removeItem(atPath: account + "/ca.crt")
            try FileManager.default.copyItem(atPath: certificates.otherCAFile, toPath: account + "/ca.crt")
            try "emulator-token\n".write(toFile: account + "/token", atomically: true, encoding: .utf8)
            let distrusting = try await runSDCTL(["resolve", "k8s:///default/web"], environment: cluster)
            #expect(distrusting.status == 69, "\(distrusting)")
            #expect(
                distrusting.stderr.contains(
                    "TLS: the server's certificate is not signed by the CAs in certificate-authority '\(account)/ca.crt'"
                ),
                "\(distrusting)")
        }
    }

    @Test(
        "a kubeconfig from KUBECONFIG's files: the current context, context=, first file wins, CA and client certificate as data or files, an exec plugin; what cannot be used is exit 2"
    )
    func kubeconfig() async throws {
        let directory = TemporaryDirectory("sdctl-k8s-kubeconfig")
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        func base64(_ path: String) throws -> String {
            try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString()
        }
        // The server asks every connection for a client certificate signed by the test CA.
        let options = KubernetesEmulator.Options.mutualTLS(certificates)
        try await KubernetesEmulator.with(options) { emulator in
            try await emulator.createService("web")
            try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.1")])
            // The first file: contexts and users, with paths relative to the file itself.
            let first = directory.path + "/first"
            try FileManager.default.createDirectory(atPath: first, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: certificates.clientCertificate, toPath: first + "/client.pem")
            try FileManager.default.copyItem(atPath: certificates.clientKey, toPath: first + "/client.key")
            try "emulator-token\n".write(toFile: first + "/token", atomically: true, encoding: .utf8)
            try writeExecutableScript(
                #"""
                #!/bin/sh
                printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}' "$LOGIN_TOKEN"

                """#, to: first + "/login")
            try """
            apiVersion: v1
            kind: Config
            current-context: main
            contexts:
            - name: main
              context: {cluster: emulator, user: certificate}
            - name: other
              context: {cluster: emulator, user: token-file}
            - name: wrong
              context: {cluster: emulator, user: wrong-token}
            - name: plugin
              context: {cluster: emulator, user: plugin}
            - name: missing-plugin
              context: {cluster: emulator, user: missing-plugin}
            - name: no-certificate
              context: {cluster: emulator, user: token-only}
            - name: distrusted
              context: {cluster: distrusted, user: certificate}
            clusters:
            - name: distrusted
              cluster:
                server: https://\(emulator.address)
                certificate-authority-data: \(try base64(certificates.otherCAFile))
            users:
            - name: certificate
              user:
                client-certificate-data: \(try base64(certificates.clientCertificate))
                client-key-data: \(try base64(certificates.clientKey))
            - name: token-file
              user: {tokenFile: token, client-certificate: client.pem, client-key: client.key}
            - name: wrong-token
              user: {token: wrong-token, client-certificate: client.pem, client-key: client.key}
            - name: plugin
              user:
                client-certificate: client.pem
                client-key: client.key
                exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./login, env: [{name: LOGIN_TOKEN, value: emulator-token}]}
            - name: token-only
              user: {token: emulator-token}
            - name: missing-plugin
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: sdctl-test-cloud-login
                  interactiveMode: Never
                  installHint: install the cloud CLI

            """.write(toFile: first + "/config", atomically: true, encoding: .utf8)
            // The second file: the cluster, and a current context and a user the first file's shadow.
            let second = directory.path + "/second.yaml"
            try """
            apiVersion: v1
            kind: Config
            current-context: plugin
            clusters:
            - name: emulator
              cluster:
                server: https://\(emulator.address)
                certificate-authority-data: \(try base64(certificates.caFile))
            users:
            - name: certificate
              user: {token: shadowed-token}

            """.write(toFile: second, atomically: true, encoding: .utf8)
            var env = self.env
            env["KUBECONFIG"] = "\(first)/config:\(directory.path)/missing:\(second)"
            env["HOME"] = directory.path

            let current = try await runSDCTL(["resolve", "k8s:///default/web"], environment: env)
            #expect(current.status == 0 && current.lines == ["10.0.0.1:8080"], "\(current)")
            let tls = try await runSDCTL(["resolve", "k8ss:///default/web?context=other"], environment: env)
            #expect(tls.status == 0 && tls.lines == ["10.0.0.1:8080"], "\(tls)")

            let refused = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=wrong"], environment: env)
            #expect(refused.status == 77, "\(refused)")
            #expect(!refused.stderr.contains("wrong-token"), "\(refused)")
            // An exec credential plugin, relative to the kubeconfig, prints the token.
            let plugin = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=plugin"], environment: env)
            #expect(plugin.status == 0 && plugin.lines == ["10.0.0.1:8080"], "\(plugin)")
            let missing = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=missing-plugin"], environment: env)
            #expect(missing.status == 77, "\(missing)")
            #expect(
                missing.stderr.contains("'sdctl-test-cloud-login' is not installed: install the cloud CLI"),
                "\(missing)")
            // TLS failures say which certificate and why.
            let noCertificate = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=no-certificate"], environment: env)
            #expect(noCertificate.status == 69, "\(noCertificate)")
            #expect(
                noCertificate.stderr.contains(
                    "TLS: the server asks for a client certificate and none is set (client-certificate)"),
                "\(noCertificate)")
            let distrusted = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=distrusted"], environment: env)
            #expect(distrusted.status == 69, "\(distrusted)")
            #expect(
                distrusted.stderr.contains(
                    "TLS: the server's certificate is not signed by the CA in certificate-authority-data"),
                "\(distrusted)")
            let unknown = try await runSDCTL(
                ["resolve", "k8s:///default/web?context=nosuch"], environment: env)
            #expect(unknown.status == 2 && unknown.stderr.contains("nosuch"), "\(unknown)")
            let withHost = try await runSDCTL(
                ["resolve", "k8s://\(emulator.address)/default/web?context=main"], environment: env)
            #expect(withHost.status == 2, "\(withHost)")

            // No kubeconfig at all, outside a cluster: exit 2 and what to do.
            env["KUBECONFIG"] = nil
            let none = try await runSDCTL(["resolve", "k8s:///default/web"], environment: env)
            #expect(none.status == 2 && none.stderr.contains("KUBECONFIG"), "\(none)")
        }
    }
}
