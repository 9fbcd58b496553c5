#if GRPC
    import Discovery
    import DiscoveryGRPC
    import EtcdDiscovery
    import FileDiscovery
    import Foundation
    import GRPCCore
    import GRPCNIOTransportCore
    import GRPCNIOTransportHTTP2Posix
    import Logging
    import TestSupport
    import Testing

    /// grpc-swift-2 clients balancing over endpoints an instancer discovers, against real
    /// grpc-swift-2 servers on loopback.
    @Suite("The gRPC name resolver over discovery", .serialized)
    struct DiscoveredNameResolverTests {
        @Test(
            "file backend: calls spread over both servers, follow a removal, and outlive discovery going down"
        )
        func fileBackend() async throws {
            let temporary = TemporaryDirectory("sdctl-grpc")
            defer { temporary.remove() }
            let directory = FileServiceDirectory(path: temporary.path + "/greeter")
            try await exercise(
                instancer: FileInstancer(directory: directory),
                register: { address in
                    let registrar = try FileRegistrar(
                        directory: directory, instance: Instance(address: address))
                    try await registrar.register()
                    return registrar
                },
                breakDiscovery: {
                    try FileManager.default.moveItem(atPath: directory.path, toPath: directory.path + ".gone")
                    try Data().write(to: URL(fileURLWithPath: directory.path))
                })
        }

        @Test("etcd: the same, with a real etcd member that is stopped at the end")
        func etcd() async throws {
            try await EtcdServers.with { servers in
                let client = try EtcdClient(
                    .init(endpoints: try servers.members.map { try HostPort(parsing: $0.endpoint) }))
                defer { client.close() }
                try await exercise(
                    instancer: EtcdInstancer(client: client, prefix: "/services/greeter/"),
                    register: { address in
                        let registrar = try EtcdRegistrar(
                            client: client, prefix: "/services/greeter/", instance: Instance(address: address)
                        )
                        try await registrar.register()
                        return registrar
                    },
                    breakDiscovery: { servers.stop() })
            }
        }

        /// Two servers registered through `register`; a client on `instancer`.
        private func exercise(
            instancer: any Instancer, register: @escaping @Sendable (String) async throws -> any Registrar,
            breakDiscovery: @escaping @Sendable () async throws -> Void
        ) async throws {
            defer { instancer.stop() }
            try await withNamedServers(["a", "b"]) { ports in
                let registrars = [
                    try await register("127.0.0.1:\(ports[0])"), try await register("127.0.0.1:\(ports[1])"),
                ]
                var registry = NameResolverRegistry.defaults
                registry.registerFactory(NameResolvers.Discovered())
                let transport = try HTTP2ClientTransport.Posix(
                    target: .discovered(instancer), transportSecurity: .plaintext, resolverRegistry: registry)
                try await withGRPCClient(transport: transport) { client in
                    let names = try await within(.seconds(20), "calls to reach both servers") {
                        var names = Set<String>()
                        while names.count < 2 { names.insert(try await Who.ask(client)) }
                        return names
                    }
                    #expect(names == ["a", "b"])

                    try await registrars[1].deregister()
                    // A call that picked b as its subchannel was closing fails with UNAVAILABLE
                    // (grpc-swift closes the streams of a removed subchannel); a caller's
                    // retry policy covers that. Only such failures, and only a few.
                    let failed = try await within(.seconds(20), "calls to go to a alone") {
                        var inARow = 0
                        var failed = 0
                        while inARow < 20 {
                            do {
                                inARow = try await Who.ask(client) == "a" ? inARow + 1 : 0
                            } catch let error as RPCError where error.code == .unavailable {
                                failed += 1
                                inARow = 0
                            }
                        }
                        return failed
                    }
                    #expect(failed <= 3, "calls failed while b's subchannel closed: \(failed)")

                    try await breakDiscovery()
                    try await instancer.subscribe().first(within: .seconds(30), "the instancer to fail") {
                        $0.failure != nil
                    }
                    for _ in 0..<20 {
                        #expect(try await Who.ask(client) == "a", "the last good set keeps serving")
                    }
                }
                try? await registrars[0].deregister()
            }
        }
    }

    /// Runs one grpc-swift-2 server per name on a free loopback port; `body` gets the ports.
    func withNamedServers(_ names: [String], _ body: ([Int]) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var servers: [GRPCServer<HTTP2ServerTransport.Posix>] = []
            var ports: [Int] = []
            for name in names {
                let server = GRPCServer(
                    transport: .http2NIOPosix(
                        address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
                    services: [Who(name: name)])
                group.addTask { try await server.serve() }
                servers.append(server)
                let address = try await server.transport.listeningAddress
                ports.append(try #require(address.ipv4?.port))
            }
            do {
                try await body(ports)
            } catch {
                for server in servers { server.beginGracefulShutdown() }
                throw error
            }
            for server in servers { server.beginGracefulShutdown() }
            try await group.waitForAll()
        }
    }

    /// A unary method answering the server's name, with UTF-8 messages.
    struct Who: RegistrableRPCService {
        static let method = MethodDescriptor(fullyQualifiedService: "sdctl.test.Who", method: "Name")
        let name: String

        func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
            let name = self.name
            router.registerHandler(
                forMethod: Self.method, deserializer: UTF8Coding(), serializer: UTF8Coding()
            ) { _, _ in
                StreamingServerResponse(single: ServerResponse(message: name))
            }
        }

        static func ask<Transport: ClientTransport>(_ client: GRPCClient<Transport>) async throws -> String {
            try await client.unary(
                request: ClientRequest(message: ""), descriptor: method, serializer: UTF8Coding(),
                deserializer: UTF8Coding(), options: .defaults
            ) { try $0.message }
        }
    }

    struct UTF8Coding: MessageSerializer, MessageDeserializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: String) throws -> Bytes {
            Bytes(Array(message.utf8))
        }

        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> String {
            serializedMessageBytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        }
    }
#endif
