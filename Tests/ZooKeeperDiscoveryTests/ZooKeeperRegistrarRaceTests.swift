import Discovery
import TestSupport
import Testing
import ZooKeeperDiscovery

/// A deregister during a restoration, round after round (the contract suite,
/// BackendContractTests, has the single race and concurrent registers).
extension ZooKeeperTests {
    @Test("a deregister right after the session is lost leaves no node, even if the restorer ran")
    func deregisterDuringRestore() async throws {
        try await ZooKeeperServers.with { servers in
            let observer = try ZooKeeperClient(.init(connectString: servers.connectString))
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            for round in 0..<3 {
                let client = try ZooKeeperClient(
                    .init(connectString: servers.connectString, sessionTimeout: .seconds(2)))
                let registrar = try ZooKeeperRegistrar(
                    client: client, path: "/services/web",
                    instance: Instance(address: "10.0.0.2:80", id: "r\(round)"))
                try await registrar.register()
                // Lose the session the way a rebuilt server does, and deregister as soon as the
                // client has noticed: the restorer is starting or running.
                servers.stop(member: 1)
                try await servers.restart(member: 1, wipingData: true)
                try await eventually(.seconds(20), "a new session") { client.sessionNumber == 2 }
                try await registrar.deregister()
                try await observer.waitUntilConnected(timeout: .seconds(20))
                let left = (try? await observer.children("/services/web")) ?? []
                #expect(left.isEmpty, "round \(round): \(left)")
            }
        }
    }
}
