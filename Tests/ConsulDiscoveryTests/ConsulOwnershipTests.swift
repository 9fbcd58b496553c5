import ConsulDiscovery
import Discovery
import Foundation
import TestSupport
import Testing

/// Ids are made from the address: a process restarted on the same address registers the same
/// id, and the exiting one must leave its successor's registration alone.
@Suite("Consul: a registration taken over by another process")
struct ConsulOwnershipTests {
    @Test("the old registrar's deregister leaves the new one's registration in place")
    func successorKeepsRegistration() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try ConsulEmulatorTests.client(emulator)
            defer { client.close() }
            let instance = Instance(address: "127.0.0.1:8080")
            let old = try ConsulRegistrar(client: client, service: "web", instance: instance)
            let new = try ConsulRegistrar(client: client, service: "web", instance: instance)
            #expect(old.registration.id == new.registration.id)
            try await old.register()
            try await new.register()
            try await old.deregister()
            let service = try await client.agentService(id: new.registration.id)
            #expect(service != nil, "the successor's registration was removed")
            // The bookkeeping key stays out of what instancers publish.
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            defer { instancer.stop() }
            let set = try await instancer.subscribe().set(["127.0.0.1:8080"])
            #expect(set[0].metadata["sdctl-owner"] == nil)
            try await new.deregister()
            #expect(try await client.agentService(id: new.registration.id) == nil)
        }
    }
}
