import CZooKeeper
import Discovery
import TestSupport
import Testing
import ZooKeeperDiscovery

/// Against real ZooKeeper servers started by the tests (Debian's `zookeeper` package).
@Suite("ZooKeeper backend", .serialized)
struct ZooKeeperTests {
    func client(_ servers: ZooKeeperServers, digest: String? = nil, timeout: Duration = .seconds(4)) throws
        -> ZooKeeperClient
    {
        try ZooKeeperClient(
            .init(connectString: servers.connectString, sessionTimeout: timeout, digest: digest))
    }

    @Test("register, watch and deregister on a standalone server")
    func registerWatchDeregister() async throws {
        try await ZooKeeperServers.with { servers in
            let watcher = try client(servers)
            let instancer = ZooKeeperInstancer(client: watcher, path: "/services/web")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([], within: .seconds(10))

            let registrar = try ZooKeeperRegistrar(
                client: try client(servers), path: "/services/web",
                instance: Instance(address: "10.0.0.1:80", id: "web-1"))
            try await registrar.register()
            try await registrar.register()  // idempotent
            let seen = try await subscription.set(["10.0.0.1:80"])
            let node = try #require(registrar.nodePath)
            #expect(seen[0].id == String(node.split(separator: "/").last!))
            #expect(node.hasPrefix("/services/web/_c_"))
            #expect(node.contains("-web-1"))
            try await registrar.deregister()
            try await registrar.deregister()  // idempotent
            try await subscription.set([])
        }
    }

    @Test("a child whose data is not an address is reported and skipped")
    func badData() async throws {
        try await ZooKeeperServers.with { servers in
            let zk = try client(servers)
            defer { zk.close() }
            try await zk.waitUntilConnected(timeout: .seconds(10))
            try await zk.createParents("/services/web")
            _ = try await zk.create(
                "/services/web/garbage", data: Array("not an address".utf8), mode: .persistent)
            _ = try await zk.create("/services/web/empty", data: [], mode: .persistent)
            _ = try await zk.create(
                "/services/web/good", data: Array("10.0.0.2:8080\n".utf8), mode: .ephemeral)
            let instancer = ZooKeeperInstancer(client: zk, path: "/services/web")
            defer { instancer.stop() }
            let set = try await instancer.subscribe().set(["10.0.0.2:8080"], within: .seconds(10))
            #expect(set[0].id == "good")
        }
    }

    @Test("many children are read in one pipelined batch and changes are incremental")
    func manyChildren() async throws {
        try await ZooKeeperServers.with { servers in
            let zk = try client(servers)
            defer { zk.close() }
            try await zk.waitUntilConnected(timeout: .seconds(10))
            try await zk.createParents("/services/many")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        _ = try await zk.create(
                            "/services/many/n", data: Array("10.1.\(index / 250).\(index % 250):80".utf8),
                            mode: .ephemeralSequential)
                    }
                }
                try await group.waitForAll()
            }
            let instancer = ZooKeeperInstancer(
                client: try client(servers), path: "/services/many")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            _ = try await subscription.first(within: .seconds(10), "500 instances") {
                $0.instances?.count == 500
            }
            _ = try await zk.create(
                "/services/many/n", data: Array("10.9.9.9:80".utf8), mode: .ephemeralSequential)
            _ = try await subscription.first(within: .seconds(10), "501 instances") {
                $0.instances?.count == 501
            }
        }
    }

    @Test("digest credentials: nodes carry creator-only write and world read")
    func digestACL() async throws {
        try await ZooKeeperServers.with { servers in
            let owner = try client(servers, digest: "alice:secret")
            let registrar = try ZooKeeperRegistrar(
                client: owner, path: "/secure/web", instance: Instance(address: "10.0.0.3:80"))
            try await registrar.register()
            let node = try #require(registrar.nodePath)
            let stranger = try client(servers)
            defer { stranger.close() }
            try await stranger.waitUntilConnected(timeout: .seconds(10))
            #expect(try await stranger.data(node) == Array("10.0.0.3:80".utf8), "world can read")
            // Thrown as the toolkit's error, with the C client's code as its cause.
            await #expect {
                try await stranger.delete(node)
            } throws: { error in
                let error = error as? DiscoveryError
                return error?.code == .permissionDenied && error?.zooKeeperError?.code == ZNOAUTH.rawValue
            }
            let instancer = ZooKeeperInstancer(client: stranger, path: "/secure/web")
            defer { instancer.stop() }
            try await instancer.subscribe().set(["10.0.0.3:80"], within: .seconds(10))
            try await registrar.deregister()
        }
    }

    @Test("session expiry: the registration comes back and the watcher converges")
    func sessionExpiry() async throws {
        try await ZooKeeperServers.with { servers in
            let watcherClient = try client(servers)
            let instancer = ZooKeeperInstancer(client: watcherClient, path: "/services/web")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            let registrarClient = try client(servers)
            let registrar = try ZooKeeperRegistrar(
                client: registrarClient, path: "/services/web", instance: Instance(address: "10.0.0.4:80"))
            try await registrar.register()
            try await subscription.set(["10.0.0.4:80"], within: .seconds(10))
            let firstNode = try #require(registrar.nodePath)

            // Expire the registrar's session for real: attach a second handle to it and close that.
            try await expire(registrarClient, servers)
            try await eventually(.seconds(20), "a new registrar session") {
                registrarClient.sessionNumber == 2
            }
            try await eventually(.seconds(20), "the restored node") {
                registrar.nodePath != nil && registrar.nodePath != firstNode
            }
            let seen = try await subscription.set(["10.0.0.4:80"], within: .seconds(10))
            // A new node on the server, not the old one still listed: the restore really ran.
            let restoredNode = try #require(registrar.nodePath)
            #expect("/services/web/\(seen[0].id ?? "")" == restoredNode)
            let observer = try client(servers)
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            #expect(try await observer.exists(restoredNode))
            #expect(try await !observer.exists(firstNode))

            // And the watcher's own session: it must re-list and re-arm its watch.
            try await expire(watcherClient, servers)
            try await eventually(.seconds(20), "a new watcher session") { watcherClient.sessionNumber == 2 }
            let other = try ZooKeeperRegistrar(
                client: try client(servers), path: "/services/web", instance: Instance(address: "10.0.0.5:80")
            )
            try await other.register()
            try await subscription.set(["10.0.0.4:80", "10.0.0.5:80"], within: .seconds(20))
            try await other.deregister()
            try await registrar.deregister()
        }
    }

    @Test("an ensemble member going away: the watch goes on and the final set is right")
    func ensembleFailover() async throws {
        try await ZooKeeperServers.with(count: 3) { servers in
            let watcherClient = try client(servers, timeout: .seconds(6))
            let instancer = ZooKeeperInstancer(client: watcherClient, path: "/services/web")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            let registrar = try ZooKeeperRegistrar(
                client: try client(servers, timeout: .seconds(6)), path: "/services/web",
                instance: Instance(address: "10.0.0.6:80"))
            try await registrar.register()
            try await subscription.set(["10.0.0.6:80"], within: .seconds(20))

            let session = try #require(watcherClient.sessionCredentials).id
            let serving = try #require(servers.member(servingSession: session))
            servers.stop(member: serving)
            let late = try ZooKeeperRegistrar(
                client: try client(servers, timeout: .seconds(6)), path: "/services/web",
                instance: Instance(address: "10.0.0.7:80"))
            try await late.register()
            try await subscription.set(["10.0.0.6:80", "10.0.0.7:80"], within: .seconds(30))
            #expect(watcherClient.sessionNumber == 1, "the session survived the move")
            try await late.deregister()
            try await subscription.set(["10.0.0.6:80"], within: .seconds(20))
            try await registrar.deregister()
        }
    }

    @Test("an unreachable ensemble is reported as unavailable")
    func unreachable() async throws {
        let port = try FreePorts.take(1)[0]
        let zk = try ZooKeeperClient(.init(connectString: "127.0.0.1:\(port)"))
        let instancer = ZooKeeperInstancer(
            client: zk, path: "/x", connectTimeout: .milliseconds(300))
        defer { instancer.stop() }
        let event = try await instancer.subscribe().first(within: .seconds(5), "a failure") {
            $0.failure != nil
        }
        #expect(event.failure?.code == .unavailable)
    }

    /// Forces `client`'s session to expire: a second handle attached to the same session closes
    /// it on the server, and `client` learns of the expiry when it next talks to the server. The
    /// two handles contend for the session, so this tries until the expiry is seen.
    func expire(_ client: ZooKeeperClient, _ servers: ZooKeeperServers) async throws {
        let before = client.sessionNumber
        let credentials = try #require(client.sessionCredentials)
        let deadline = ContinuousClock.now + .seconds(30)
        while client.sessionNumber == before {
            guard ContinuousClock.now < deadline else {
                throw DeadlineExceeded(what: "the session to expire")
            }
            let twin = try ZooKeeperClient(
                .init(connectString: servers.connectString, sessionTimeout: .seconds(4)),
                resuming: credentials)
            try? await twin.waitUntilConnected(timeout: .seconds(5))
            twin.close()
            try? await eventually(.seconds(3), "the expiry to reach the client") {
                client.sessionNumber != before
            }
        }
    }
}
