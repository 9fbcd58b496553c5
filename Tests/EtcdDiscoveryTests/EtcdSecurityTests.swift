import Discovery
import EtcdDiscovery
import TestSupport
import Testing

/// TLS and authentication against a real member that requires both: a client certificate signed
/// by the test CA, and root's password.
@Suite("etcd backend with TLS and authentication", .serialized)
struct EtcdSecurityTests {
    static let password = "s3cret"

    func client(
        _ servers: EtcdServers, tls: EtcdClient.TLS?, password: String? = EtcdSecurityTests.password
    ) throws -> EtcdClient {
        let endpoints = try servers.members.map { try HostPort(parsing: $0.endpoint) }
        return try EtcdClient(
            .init(
                endpoints: endpoints, tls: tls, username: password == nil ? nil : "root", password: password))
    }

    func trusted(_ servers: EtcdServers) throws -> EtcdClient.TLS {
        let certificates = try #require(servers.certificates)
        return EtcdClient.TLS(
            caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
            keyFile: certificates.clientKey)
    }

    /// The first event of a new instancer on `client`: for the failures, what a user would see.
    func firstEvent(_ client: EtcdClient) async throws -> InstancerEvent {
        let instancer = EtcdInstancer(client: client, prefix: "/services/web/")
        defer { instancer.stop() }
        return try await instancer.subscribe().first(within: .seconds(10), "a first event") { _ in true }
    }

    @Test("register and watch over TLS with a client certificate and a password; the token is renewed")
    func tlsAndAuthentication() async throws {
        // Tokens live 1 s without use, so the registrar's and instancer's calls outlive them.
        try await EtcdServers.with(tls: true, authTokenTTL: 1) { servers in
            try await servers.enableAuthentication(password: Self.password)
            let log = RecordingLogHandler.Messages()
            let endpoints = try servers.members.map { try HostPort(parsing: $0.endpoint) }
            let etcd = try EtcdClient(
                .init(endpoints: endpoints, tls: trusted(servers), username: "root", password: Self.password),
                logger: RecordingLogHandler.logger(log))
            defer { etcd.close() }
            let instancer = EtcdInstancer(client: etcd, prefix: "/services/web/")
            defer { instancer.stop() }
            try await instancer.subscribe().set([], within: .seconds(10))
            let registrar = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/",
                instance: Instance(address: "10.0.0.1:80", id: "web-1"),
                ttl: .seconds(3))
            try await registrar.register()
            try await instancer.subscribe().set(["10.0.0.1:80"], within: .seconds(10))
            #expect(try await servers.etcdctl(["get", "--prefix", "/services/web/"]).contains("10.0.0.1:80"))

            try await Task.sleep(for: .seconds(2))  // the token's 1 s TTL passes unused
            let (values, _) = try await etcd.range(prefix: Array("/services/web/".utf8))
            #expect(values.count == 1)
            #expect(
                log.all.contains {
                    $0.contains("token refused; authenticating again") && $0.contains("invalid auth token")
                }, "\(log.all)")
            try await registrar.deregister()
            try await instancer.subscribe().set([], within: .seconds(10))
        }
    }

    @Test("a wrong password is permission denied, for watching and for registering")
    func wrongPassword() async throws {
        try await EtcdServers.with(tls: true) { servers in
            try await servers.enableAuthentication(password: Self.password)
            let etcd = try client(servers, tls: trusted(servers), password: "wrong")
            defer { etcd.close() }
            let event = try await firstEvent(etcd)
            #expect(event.failure?.code == .permissionDenied)
            #expect(event.failure?.message.contains("authentication failed") == true)
            let registrar = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/", instance: Instance(address: "10.0.0.1:80", id: "a"))
            let error = await #expect(throws: DiscoveryError.self) { try await registrar.register() }
            #expect(error?.code == .permissionDenied)
            // No password at all: the server refuses the request itself.
            let anonymous = try client(servers, tls: trusted(servers), password: nil)
            defer { anonymous.close() }
            #expect(try await firstEvent(anonymous).failure?.code == .permissionDenied)
        }
    }

    @Test("TLS failures name their cause: untrusted server, missing client certificate, plaintext")
    func tlsFailures() async throws {
        try await EtcdServers.with(tls: true) { servers in
            let certificates = try #require(servers.certificates)
            let cases: [(EtcdClient.TLS?, String)] = [
                // No CA: the system's roots, which never signed the test server's certificate.
                (
                    .init(certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey),
                    "CERTIFICATE_VERIFY_FAILED"
                ),
                (
                    .init(
                        caFile: certificates.otherCAFile, certificateFile: certificates.clientCertificate,
                        keyFile: certificates.clientKey), "CERTIFICATE_VERIFY_FAILED"
                ),
                (.init(caFile: certificates.caFile), "refused the client certificate"),
                (nil, "a TLS endpoint?"),
            ]
            for (tls, cause) in cases {
                let etcd = try client(servers, tls: tls, password: nil)
                defer { etcd.close() }
                let failure = try await firstEvent(etcd).failure
                #expect(failure?.code == .unavailable)
                #expect(failure?.message.contains(cause) == true, "\(failure?.message ?? "no failure")")
            }
        }
    }

    @Test("certificate files that are missing or not PEM are named before any connection")
    func badFiles() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        let endpoints = [HostPort(host: "127.0.0.1", port: 2379)]
        let cases: [(EtcdClient.TLS, String)] = [
            (.init(caFile: "\(directory.path)/absent.pem"), "cannot read '\(directory.path)/absent.pem'"),
            (.init(caFile: "\(directory.path)/extensions.cnf"), "holds no PEM certificate"),
            (
                .init(certificateFile: certificates.clientCertificate, keyFile: certificates.caFile),
                "holds no PEM private key"
            ),
            (.init(certificateFile: certificates.clientCertificate), "needs its key"),
        ]
        for (tls, message) in cases {
            let error = #expect(throws: DiscoveryError.self) {
                _ = try EtcdClient(.init(endpoints: endpoints, tls: tls))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
    }
}
