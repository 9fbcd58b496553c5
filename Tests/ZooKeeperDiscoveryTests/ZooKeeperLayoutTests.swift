import Discovery
import TestSupport
import Testing
import ZooKeeperDiscovery

/// go-kit's and Curator's layouts side by side, on a real server.
extension ZooKeeperTests {
    static let curatorData = CuratorServiceInstance(
        name: "web", id: "id-1", address: "10.0.0.1", port: 8080, sslPort: 8443, metadata: ["zone": "eu-1"],
        registrationTimeUTC: 1
    ).json

    @Test(
        "children in either layout are read without being told; with layout= only that layout; what fits none is reported once, then at debug level"
    )
    func readsBothLayouts() async throws {
        try await ZooKeeperServers.with { servers in
            let writer = try client(servers)
            defer { writer.close() }
            try await writer.waitUntilConnected(timeout: .seconds(10))
            try await writer.createParents("/services/web")
            _ = try await writer.create("/services/web/id-1", data: Self.curatorData, mode: .persistent)
            _ = try await writer.create(
                "/services/web/gokit", data: Array("10.0.0.2:80".utf8), mode: .persistent)
            _ = try await writer.create(
                "/services/web/bad-1", data: Array("nonsense".utf8), mode: .persistent)
            _ = try await writer.create(
                "/services/web/bad-2", data: Array("{\"id\":".utf8), mode: .persistent)

            let log = RecordingLogHandler.Messages()
            let detecting = ZooKeeperInstancer(
                client: try client(servers), path: "/services/web", logger: RecordingLogHandler.logger(log))
            defer { detecting.stop() }
            let seen = try await detecting.subscribe().set(
                ["10.0.0.1:8080", "10.0.0.2:80"], within: .seconds(10))
            #expect(
                seen[0].id == "id-1" && seen[0].zone == "eu-1"
                    && seen[0].metadata["curator.serviceType"] == "DYNAMIC")
            #expect(seen[1].id == "gokit")
            #expect(
                log.all.filter { $0.hasPrefix("warning skipping children that fit no layout") }.count == 1)
            #expect(log.all.filter { $0.hasPrefix("debug skipping one of the children that fit no layout") }.count == 1)

            let curator = ZooKeeperInstancer(
                client: try client(servers), path: "/services/web", layout: .curator)
            defer { curator.stop() }
            try await curator.subscribe().set(["10.0.0.1:8080"], within: .seconds(10))
            let ssl = ZooKeeperInstancer(
                client: try client(servers), path: "/services/web", layout: .curator, port: .ssl)
            defer { ssl.stop() }
            try await ssl.subscribe().set(["10.0.0.1:8443"], within: .seconds(10))
            let gokit = ZooKeeperInstancer(client: try client(servers), path: "/services/web", layout: .gokit)
            defer { gokit.stop() }
            try await gokit.subscribe().set(["10.0.0.2:80"], within: .seconds(10))
        }
    }

    @Test(
        "in Curator's layout the registrar writes Curator's JSON as an ephemeral child named by the id, replaces a child of that id, and restores it after a session expiry"
    )
    func curatorRegistrar() async throws {
        try await ZooKeeperServers.with { servers in
            let observer = try client(servers)
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            try await observer.createParents("/services/web")
            // A leftover of the same id (a registration of a process that was killed).
            _ = try await observer.create("/services/web/web-1", data: Array("{}".utf8), mode: .persistent)

            let registrarClient = try client(servers)
            let registrar = try ZooKeeperRegistrar(
                client: registrarClient, path: "/services/web",
                instance: Instance(
                    address: "10.0.0.1:80", id: "web-1", metadata: ["version": "2"], weight: 5, zone: "eu-1"),
                layout: .curator)
            try await registrar.register()
            #expect(registrar.nodePath == "/services/web/web-1")
            let written = try CuratorServiceInstance(json: try await observer.data("/services/web/web-1"))
            #expect(
                written.name == "web" && written.id == "web-1" && written.address == "10.0.0.1"
                    && written.port == 80)
            #expect(written.metadata == ["version": "2", "zone": "eu-1", "weight": "5"])
            #expect(written.payloadClass == CuratorServiceInstance.springPayloadClass)
            #expect(written.serviceType == "DYNAMIC")
            #expect((written.registrationTimeUTC ?? 0) > 1_700_000_000_000)

            let owner = try #require(servers.session(owning: "/services/web/web-1"))
            try await expire(registrarClient, servers)
            try await eventually(.seconds(20), "the node restored by the new session") {
                let now = servers.session(owning: "/services/web/web-1")
                return now != nil && now != owner
            }
            try await registrar.deregister()
            #expect(try await !observer.exists("/services/web/web-1"))
            #expect(try await observer.children("/services/web").isEmpty)
        }
    }

    @Test(
        "without a layout, registering uses the one found: go-kit's on an empty path, Curator's beside Curator's"
    )
    func detectsLayoutToRegister() async throws {
        try await ZooKeeperServers.with { servers in
            let observer = try client(servers)
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            let empty = try ZooKeeperRegistrar(
                client: try client(servers), path: "/services/empty",
                instance: Instance(address: "10.0.0.1:80"),
                layout: nil)
            try await empty.register()
            #expect(empty.layout == .gokit)
            #expect(try await observer.data(try #require(empty.nodePath)) == Array("10.0.0.1:80".utf8))

            try await observer.createParents("/services/web")
            _ = try await observer.create("/services/web/id-1", data: Self.curatorData, mode: .persistent)
            let beside = try ZooKeeperRegistrar(
                client: try client(servers), path: "/services/web",
                instance: Instance(address: "10.0.0.2:80"),
                layout: nil)
            try await beside.register()
            #expect(beside.layout == .curator)
            let node = try #require(beside.nodePath)
            let written = try CuratorServiceInstance(json: try await observer.data(node))
            #expect(node == "/services/web/\(written.id)" && written.id.count == 36, "a UUID: \(written.id)")
            try await beside.deregister()
            try await empty.deregister()
        }
    }
}
