import Discovery
import Logging
import TestSupport
import Testing

extension BackendContract {
    /// The ``Registrar`` contract, written once and run over every backend that takes
    /// registrations, watched through the same backend's instancer.
    @Suite("The registrar contract, on every backend that registers", .serialized)
    struct RegistrarContractTests {
        static let address = "10.0.0.9:80"

        @Test(
            "register and deregister are idempotent, and a registrar registers again after deregistering",
            arguments: ContractBackend.registering)
        func idempotentAndAgain(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let instancer = try fixture.makeInstancer()
                defer { instancer.stop() }
                let subscription = instancer.subscribe()
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: Logger(label: "test"))
                try await registrar.register()
                try await registrar.register()
                try await subscription.set([Self.address], within: .seconds(20))
                try await registrar.deregister()
                try await registrar.deregister()
                try await subscription.set([], within: .seconds(20))
                // The same registrar, on the same client, again.
                try await registrar.register()
                try await subscription.set([Self.address], within: .seconds(20))
                try await registrar.deregister()
                try await subscription.set([], within: .seconds(20))
            }
        }

        @Test(
            "deregister removes exactly what its registrar made; the other instances stay",
            arguments: ContractBackend.registering)
        func deregisterExactly(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let (instancer, subscription, seeded) = try await fixture.watchSeeded()
                defer { instancer.stop() }
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: Logger(label: "test"))
                try await registrar.register()
                try await subscription.set(
                    (seeded.map(\.address) + [Self.address]).sorted(), within: .seconds(20))
                try await registrar.deregister()
                let after = try await subscription.set(seeded.map(\.address), within: .seconds(20))
                #expect(after == seeded, "the seeded instances, unchanged")
            }
        }

        @Test(
            "a re-read that finds the same set sends nothing: the next event is the next change",
            arguments: ContractBackend.registering)
        func identicalSetNotSent(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let (instancer, subscription, seeded) = try await fixture.watchSeeded()
                defer { instancer.stop() }
                try await fixture.rewriteUnchanged()
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: Logger(label: "test"))
                try await registrar.register()
                let next = try await subscription.first(within: .seconds(20), "the next event") { _ in true }
                #expect(
                    next.instances?.map(\.address) == (seeded.map(\.address) + [Self.address]).sorted(),
                    "the change, with no copy of the set before it")
            }
        }

        @Test("concurrent register() calls register once", arguments: ContractBackend.registering)
        func concurrentRegisters(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: Logger(label: "test"))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 { group.addTask { try await registrar.register() } }
                    try await group.waitForAll()
                }
                // A fresh instancer after the calls returned: its first set is what they made.
                let instancer = try fixture.makeInstancer()
                defer { instancer.stop() }
                let set = try await instancer.subscribe().first(within: .seconds(20), "a set") {
                    $0.instances != nil
                }
                #expect(set.instances?.map(\.address) == [Self.address], "registered once")
                try await registrar.deregister()
            }
        }

        @Test(
            "a registration the backend loses is restored, and that is logged",
            arguments: ContractBackend.registering)
        func restored(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let log = RecordingLogHandler.Messages()
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: RecordingLogHandler.logger(log))
                try await registrar.register()
                try await fixture.lose(registrar)
                try await eventually(.seconds(30), "the restoration to be logged") {
                    log.all.contains {
                        $0.contains(
                            "\(DiscoveryLogEvent.key)=\(DiscoveryLogEvent.registrationRestored.rawValue)")
                    }
                }
                let instancer = try fixture.makeInstancer()
                defer { instancer.stop() }
                try await instancer.subscribe().set([Self.address], within: .seconds(20))
                try await registrar.deregister()
            }
        }

        @Test(
            "a deregister racing a restoration wins: nothing is left once it returns",
            arguments: ContractBackend.registering)
        func deregisterWinsOverRestoration(_ backend: ContractBackend) async throws {
            try await backend.withRegistrarFixture { fixture in
                let registrar = try fixture.makeRegistrar(
                    address: Self.address, logger: Logger(label: "test"))
                try await registrar.register()
                try await fixture.lose(registrar)
                try await registrar.deregister()
                // A fresh instancer after deregister() returned: whatever a restoration made
                // meanwhile was undone before it returned.
                let instancer = try fixture.makeInstancer()
                defer { instancer.stop() }
                let set = try await instancer.subscribe().first(within: .seconds(20), "a set") {
                    $0.instances != nil
                }
                #expect(set.instances == [])
            }
        }
    }
}
