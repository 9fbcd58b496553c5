import Discovery
import EurekaDiscovery
import Foundation
import TestSupport
import Testing

/// Ids are made from the address: a process restarted on the same address registers the same
/// id, and the exiting one must leave its successor's lease alone, drain included.
@Suite("Eureka: a lease taken over by another process")
struct EurekaOwnershipTests {
    @Test("the old registrar's drain and cancel leave the new one's lease in place, UP")
    func successorKeepsLease() async throws {
        try await EurekaEmulator.with { emulator in
            let client = try EurekaEmulatorTests.client(emulator)
            defer { client.close() }
            let instance = Instance(address: "127.0.0.1:8080")
            let old = try EurekaRegistrar(
                client: client, app: "web", instance: instance, configuration: .init(drain: .milliseconds(10))
            )
            let new = try EurekaRegistrar(client: client, app: "web", instance: instance)
            #expect(old.registration.instanceID == new.registration.instanceID)
            try await old.register()
            try await new.register()
            try await old.markOutOfService()
            try await old.deregister()
            let records = try await client.instances(of: "web")
            #expect(
                records.count == 1 && records.first?.status == .up,
                "the successor's lease was drained or cancelled")
            #expect(records.first.flatMap { $0.instance() }?.metadata["sdctl-owner"] == nil)
            try await new.deregister()
            #expect(try await client.instances(of: "web").isEmpty)
        }
    }
}
