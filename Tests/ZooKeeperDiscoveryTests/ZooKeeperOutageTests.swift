import Discovery
import Logging
import TestSupport
import Testing
import ZooKeeperDiscovery

/// Outages that the C client does not report by itself: a plain disconnection, and a server
/// rebuilt with empty data, which refuses the old session for ever instead of expiring it.
extension ZooKeeperTests {
    @Test("a lost connection is an error event well inside the session timeout; reconnecting clears it")
    func disconnectionIsReported() async throws {
        try await ZooKeeperServers.with { servers in
            let registrar = try ZooKeeperRegistrar(
                client: try ZooKeeperClient(
                    .init(connectString: servers.connectString, sessionTimeout: .seconds(20))),
                path: "/services/web", instance: Instance(address: "10.0.0.1:80"))
            try await registrar.register()
            let watcher = try ZooKeeperClient(
                .init(connectString: servers.connectString, sessionTimeout: .seconds(20)))
            let instancer = ZooKeeperInstancer(
                client: watcher, path: "/services/web", connectTimeout: .milliseconds(500))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set(["10.0.0.1:80"], within: .seconds(10))

            servers.stop(member: 1)
            let stopped = ContinuousClock.now
            let failure = try await subscription.first(within: .seconds(5), "an error event") {
                $0.failure != nil
            }
            #expect(ContinuousClock.now - stopped < .seconds(5), "far inside the 20 s session timeout")
            #expect(failure.failure?.code == .unavailable)
            #expect(failure.failure?.message.contains("lost the connection") == true, "\(failure)")
            #expect(instancer.instances?.map(\.address) == ["10.0.0.1:80"], "the last good set stays")

            try await servers.restart(member: 1)
            try await subscription.set(["10.0.0.1:80"], within: .seconds(20))
            #expect(watcher.sessionNumber == 1, "the same session came back")
            try await registrar.deregister()
        }
    }

    @Test("a server rebuilt with empty data: a new session, and the registration is restored and logged")
    func rebuiltServer() async throws {
        try await ZooKeeperServers.with { servers in
            let log = RecordingLogHandler.Messages()
            let logger = RecordingLogHandler.logger(log)
            let registrarClient = try ZooKeeperClient(
                .init(connectString: servers.connectString, sessionTimeout: .seconds(2)), logger: logger)
            let registrar = try ZooKeeperRegistrar(
                client: registrarClient, path: "/services/web", instance: Instance(address: "10.0.0.2:80"),
                logger: logger)
            try await registrar.register()

            servers.stop(member: 1)
            try await servers.restart(member: 1, wipingData: true)
            let lost = ContinuousClock.now
            try await eventually(.seconds(20), "the restoration") {
                log.all.contains { $0.contains("registration restored") }
            }
            #expect(registrarClient.sessionNumber == 2)
            #expect(ContinuousClock.now - lost < .seconds(15))
            let observer = try ZooKeeperClient(.init(connectString: servers.connectString))
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            let children = try await observer.children("/services/web")
            #expect(children.count == 1)
            #expect("/services/web/\(children[0])" == registrar.nodePath)
            #expect(log.all.contains { $0.contains("treating the session as expired") })
            try await registrar.deregister()
        }
    }
}
