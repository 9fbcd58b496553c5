import Discovery
import DiscoveryHTTP
import Foundation
import TestSupport
import Testing

@testable import KubernetesDiscovery

@Suite("kubeconfig files")
struct KubeconfigTests {
    static let kubectlStyle = """
        apiVersion: v1
        kind: Config
        preferences: {}
        current-context: dev
        clusters:
        - cluster:
            certificate-authority-data: \(Base64.encode(Array("CA PEM".utf8)))
            server: https://10.0.0.1:6443
          name: dev-cluster
        - name: plain
          cluster: {server: "http://127.0.0.1:8080/", insecure-skip-tls-verify: yes}
        users:
        - name: dev-user
          user:
            token: "s3cret"
        - name: cert-user
          user:
            client-certificate: certs/client.crt
            client-key: /abs/client.key
        contexts:
        - context: {cluster: dev-cluster, user: dev-user, namespace: apps}
          name: dev
        - name: certs
          context:
            cluster: dev-cluster
            user: cert-user
        - name: anonymous
          context:
            cluster: plain
        """

    func parse(_ text: String, path: String = "/home/u/.kube/config") throws -> Kubeconfig {
        try Kubeconfig(parsing: Array(text.utf8), path: path)
    }

    @Test("kubectl's own layout: block and flow styles, quoted scalars, -data fields, relative paths")
    func kubectlLayout() throws {
        let config = try parse(Self.kubectlStyle)
        #expect(config.currentContext == "dev")
        #expect(config.clusters["dev-cluster"]?.certificateAuthorityData == Array("CA PEM".utf8))
        #expect(config.clusters["plain"]?.insecureSkipTLSVerify == true)
        #expect(config.users["dev-user"]?.token == "s3cret")
        #expect(config.users["cert-user"]?.clientCertificate == "/home/u/.kube/certs/client.crt")
        #expect(config.users["cert-user"]?.clientKey == "/abs/client.key")
        #expect(config.contexts["dev"] == .init(cluster: "dev-cluster", user: "dev-user", namespace: "apps"))

        let dev = try config.clientConfiguration()
        #expect(dev.server == .https(HostPort(host: "10.0.0.1", port: 6443)))
        #expect(dev.credentials == .token("s3cret"))
        #expect(dev.tls.caData == Array("CA PEM".utf8) && dev.tls.verify)
        let certs = try config.clientConfiguration(context: "certs")
        #expect(certs.credentials == .none && certs.tls.certificateFile == "/home/u/.kube/certs/client.crt")
        let anonymous = try config.clientConfiguration(context: "anonymous")
        #expect(anonymous.server == .http(HostPort(host: "127.0.0.1", port: 8080)) && !anonymous.tls.verify)
    }

    @Test("a kubeconfig written as JSON, which is YAML too")
    func json() throws {
        let config = try parse(
            #"{"clusters":[{"name":"c","cluster":{"server":"https://[::1]"}}],"users":[{"name":"u","user":{"username":"ann","password":"pw"}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}],"current-context":"x"}"#
        )
        let configuration = try config.clientConfiguration()
        #expect(configuration.server == .https(HostPort(host: "::1", port: 443)))
        #expect(configuration.credentials == .basic(user: "ann", password: "pw"))
    }

    @Test(
        "several files merge as kubectl merges them: the first definition of a name and the first current-context win"
    )
    func merging() throws {
        var first = try parse(
            """
            clusters: [{name: c, cluster: {server: "https://first:1"}}]
            contexts: [{name: a, context: {cluster: c}}]
            """, path: "/one")
        let second = try parse(
            """
            current-context: b
            clusters: [{name: c, cluster: {server: "https://second:2"}}, {name: d, cluster: {server: "https://d:3"}}]
            contexts: [{name: a, context: {cluster: d}}, {name: b, context: {cluster: d}}]
            """, path: "/two")
        first.merge(second)
        #expect(first.currentContext == "b")
        #expect(first.clusters["c"]?.server == "https://first:1")
        #expect(first.contexts["a"]?.cluster == "c")
        #expect(
            try first.clientConfiguration(context: "a").server == .https(HostPort(host: "first", port: 1)))
        #expect(first.files == ["/one", "/two"])
    }

    @Test("KUBECONFIG's list: missing files skipped, repeats read once; none at all is a clear error")
    func loading() throws {
        let directory = TemporaryDirectory("sdctl-kubeconfig")
        defer { directory.remove() }
        let file = directory.path + "/config"
        try "clusters: [{name: c, cluster: {server: \"https://h:1\"}}]\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let paths = Kubeconfig.paths(environment: ["KUBECONFIG": "\(directory.path)/nosuch::\(file):\(file)"])
        #expect(paths == ["\(directory.path)/nosuch", file])
        #expect(try Kubeconfig.load(paths: paths).files == [file])
        #expect(Kubeconfig.paths(environment: ["HOME": "/h"]) == ["/h/.kube/config"])
        let none = #expect(throws: DiscoveryError.self) {
            try Kubeconfig.load(paths: ["\(directory.path)/nosuch"])
        }
        #expect(none?.message.contains("no kubeconfig") == true)
        let fifo = directory.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let unreadable = #expect(throws: DiscoveryError.self) { try Kubeconfig.load(paths: [fifo]) }
        #expect(unreadable?.message == "k8s: cannot read kubeconfig \(fifo)")
        let huge = directory.path + "/huge"
        try String(repeating: "# padding\n", count: Kubeconfig.maximumFileSize / 10 + 1).write(
            toFile: huge, atomically: true, encoding: .utf8)
        let tooLarge = #expect(throws: DiscoveryError.self) { try Kubeconfig.load(paths: [huge]) }
        #expect(tooLarge?.message.contains("larger than 4 MiB") == true)
    }

    @Test(
        "what cannot be used is refused with the file, entry and field, and secrets stay out of messages",
        arguments: [
            ("clusters: [{name: c}]", "cluster c has no server"),
            ("clusters: {c: 1}", "clusters is not a list"),
            (
                "users: [{name: u, user: {client-certificate-data: '%%%'}}]",
                "user u field client-certificate-data is not base64"
            ),
            (
                "clusters: [{name: c, cluster: {server: x, insecure-skip-tls-verify: maybe}}]",
                "'maybe', not true or false"
            ),
            ("contexts: [{name: a, context: {user: u}}]", "context a has no cluster"),
            ("users: [{name: u}, {name: u}]", "users names 'u' twice"),
            ("- a list", "the top level is not a mapping"),
            ("a: &x [1]\nb: *x", "aliases (*name) are not supported"),
            ("a: 1\na: 2", "key 'a' appears twice"),
            ("a: [1, 2", "is not YAML"),
        ])
    func malformed(text: String, expected: String) throws {
        let error = #expect(throws: DiscoveryError.self) { try parse(text, path: "/k") }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.hasPrefix("k8s: kubeconfig /k") == true)
    }

    @Test(
        "contexts and users that cannot be used say why",
        arguments: [
            ("current-context: x", nil, "no context named 'x'"),
            ("clusters: []", nil, "has no current-context; name one with ?context=NAME"),
            ("contexts: [{name: a, context: {cluster: c}}]", "a", "names cluster 'c', which is not defined"),
            (
                "clusters: [{name: c, cluster: {server: 'https://h/prefix'}}]\ncontexts: [{name: a, context: {cluster: c}}]",
                "a", "has a path"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h', proxy-url: 'http://p'}}]\ncontexts: [{name: a, context: {cluster: c}}]",
                "a", "uses a proxy-url"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true, certificate-authority: /ca}}]\ncontexts: [{name: a, context: {cluster: c}}]",
                "a", "both insecure-skip-tls-verify and a certificate authority"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {auth-provider: {name: oidc}}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]",
                "a", "uses an auth-provider, which sdctl does not support yet"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {token: sekrit, exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]",
                "a", "both an exec credential plugin and a token"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {token: sekrit, username: bob}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]",
                "a", "both a token and a username"
            ),
            (
                "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {token: sekrit, client-key: /k}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]",
                "a", "a client key but no client certificate"
            ),
        ] as [(String, String?, String)])
    func unusable(text: String, context: String?, expected: String) throws {
        let config = try parse(text, path: "/k")
        let error = #expect(throws: DiscoveryError.self) { try config.clientConfiguration(context: context) }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("sekrit") == false)
    }

    @Test("an exec plugin: command, args, env, relative command paths, cluster info when asked")
    func execPlugin() throws {
        let config = try parse(
            """
            clusters:
            - name: c
              cluster: {server: 'https://h:6443', certificate-authority-data: \(Base64.encode(Array("PEM".utf8)))}
            users:
            - name: cloud
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: aws
                  args: [eks, get-token, --cluster-name, prod]
                  env: [{name: AWS_PROFILE, value: prod}]
                  interactiveMode: IfAvailable
                  installHint: install the AWS CLI
            - name: local
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./bin/login, provideClusterInfo: true}
            contexts:
            - {name: cloud, context: {cluster: c, user: cloud}}
            - {name: local, context: {cluster: c, user: local}}
            """, path: "/home/u/.kube/config")
        let cloud = try config.clientConfiguration(context: "cloud")
        guard case .exec(let plugin) = cloud.credentials else {
            Issue.record("not an exec plugin: \(cloud.credentials)")
            return
        }
        #expect(
            plugin.command == "aws" && plugin.arguments == ["eks", "get-token", "--cluster-name", "prod"])
        #expect(plugin.environment.map { "\($0.name)=\($0.value)" } == ["AWS_PROFILE=prod"])
        #expect(plugin.apiVersion == ExecCredentialPlugin.v1 && plugin.installHint == "install the AWS CLI")
        #expect(plugin.clusterInfo == nil)
        let local = try config.clientConfiguration(context: "local")
        guard case .exec(let relative) = local.credentials else {
            Issue.record("not an exec plugin: \(local.credentials)")
            return
        }
        #expect(relative.command == "/home/u/.kube/./bin/login")
        #expect(relative.apiVersion == ExecCredentialPlugin.v1beta1)
        #expect(
            relative.clusterInfo
                == .init(server: "https://h:6443", certificateAuthorityData: Array("PEM".utf8)))
        let info = ExecCredentialSource.execInfo(relative)
        #expect(
            info
                == #"{"apiVersion":"client.authentication.k8s.io\/v1beta1","kind":"ExecCredential","spec":{"cluster":{"certificate-authority-data":"UEVN","server":"https:\/\/h:6443"},"interactive":false}}"#
                || info
                    == #"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"cluster":{"certificate-authority-data":"UEVN","server":"https://h:6443"},"interactive":false}}"#,
            "\(info)")
    }

    @Test(
        "exec plugins client-go refuses are refused",
        arguments: [
            ("{command: aws}", "has no apiVersion"),
            ("{apiVersion: client.authentication.k8s.io/v1alpha1, command: aws}", "sdctl speaks"),
            ("{apiVersion: client.authentication.k8s.io/v1, command: aws}", "has no interactiveMode"),
            (
                "{apiVersion: client.authentication.k8s.io/v1, command: aws, interactiveMode: Always}",
                "without a terminal"
            ),
            ("{apiVersion: client.authentication.k8s.io/v1beta1}", "has no command"),
            (
                "{apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: x}",
                "args is not a list"
            ),
            (
                "{apiVersion: client.authentication.k8s.io/v1beta1, command: aws, env: [{value: v}]}",
                "env entry"
            ),
        ])
    func execPluginRefused(exec: String, expected: String) throws {
        let error = #expect(throws: DiscoveryError.self) {
            try parse("users: [{name: u, user: {exec: \(exec)}}]", path: "/k")
        }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("user u exec") == true, "\(error?.message ?? "")")
    }

    @Test("hostile YAML: deep nesting, endless values and binary noise fail with a message, quickly")
    func hostile() throws {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: YAMLNode.ParseError.self) { try YAMLNode.parse(Array(deep.utf8)) }
        let wide = "[" + String(repeating: "1,", count: 200_000) + "1]"
        let error = #expect(throws: YAMLNode.ParseError.self) { try YAMLNode.parse(Array(wide.utf8)) }
        #expect(error?.message.contains("more than 100000 values") == true)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let noise = (0..<Int.random(in: 0..<200, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? YAMLNode.parse(noise)
        }
        #expect(try YAMLNode.parse([]) == .null)
        #expect(
            try YAMLNode.parse(Array("a: ~\nb: 'null'".utf8))
                == .mapping([.init(key: "a", value: .null), .init(key: "b", value: .scalar("null"))]))
    }

    @Test("base64 as kubeconfig -data fields hold it: padded or not, wrapped, and rejected when it is not")
    func base64() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            #expect(Base64.decode(Base64.encode(Array(text.utf8))) == Array(text.utf8))
        }
        #expect(Base64.decode("Zm9v\nYmFy") == Array("foobar".utf8))
        #expect(Base64.decode("Zm8") == Array("fo".utf8))
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zg==Zg==") == nil)
    }
}
