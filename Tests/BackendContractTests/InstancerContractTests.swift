import Discovery
import TestSupport
import Testing

extension BackendContract {
    /// The ``Instancer`` contract, written once and run over every backend on a real server (or
    /// the emulators for Consul and Eureka).
    @Suite("The instancer contract, on every backend", .serialized)
    struct InstancerContractTests {
        @Test(
            "a subscriber's first event is the full current set, sorted; a second subscriber gets it at once",
            arguments: ContractBackend.all)
        func fullSetFirst(_ backend: ContractBackend) async throws {
            try await backend.withFixture { fixture in
                let seeded = try await fixture.seed()
                let instancer = try fixture.makeInstancer()
                defer { instancer.stop() }
                let set = try await instancer.subscribe().set(seeded.sorted(), within: .seconds(20))
                #expect(set == set.sorted(), "sorted")
                #expect(instancer.instances == set)
                #expect(
                    instancer.subscribe().poll() == .instances(set), "a later subscriber waits for nothing")
            }
        }

        @Test(
            "stop() ends every subscription, is idempotent, and a later subscription ends at once",
            arguments: ContractBackend.all)
        func stop(_ backend: ContractBackend) async throws {
            try await backend.withFixture { fixture in
                let (instancer, subscription, _) = try await fixture.watchSeeded()
                instancer.stop()
                instancer.stop()
                try await within(.seconds(10), "the subscription to end") {
                    for await event in subscription { Issue.record("delivered after stop(): \(event)") }
                }
                let late = instancer.subscribe()
                #expect(late.poll() == nil)
                try await within(.seconds(10), "a subscription after stop() to end") {
                    for await event in late { Issue.record("delivered after stop(): \(event)") }
                }
            }
        }

        @Test("an instancer dropped without stop() ends its subscriptions", arguments: ContractBackend.all)
        func dropped(_ backend: ContractBackend) async throws {
            try await backend.withFixture { fixture in
                let (instancer, subscription, _) = try await fixture.watchSeeded()
                _ = consume instancer  // its last reference
                try await within(.seconds(10), "the dropped instancer's subscription to end") {
                    for await _ in subscription {}
                }
            }
        }

        @Test(
            "cancelling run() stops the instancer, as a task group or a ServiceGroup does",
            arguments: ContractBackend.all)
        func runCancelled(_ backend: ContractBackend) async throws {
            try await backend.withFixture { fixture in
                let (instancer, subscription, _) = try await fixture.watchSeeded()
                let runner = Task { await instancer.run() }
                runner.cancel()
                try await within(.seconds(10), "run() to return") { await runner.value }
                try await within(.seconds(10), "the subscription to end") {
                    for await _ in subscription {}
                }
            }
        }

        @Test(
            "failures are events, and the last good set is kept through them", arguments: ContractBackend.all)
        func lastGoodSetKept(_ backend: ContractBackend) async throws {
            try await backend.withFixture { fixture in
                let (instancer, subscription, set) = try await fixture.watchSeeded()
                defer { instancer.stop() }
                try await fixture.breakBackend()
                let failure = try await subscription.first(within: .seconds(30), "a failure event") {
                    $0.failure != nil
                }
                #expect(failure.failure?.message.isEmpty == false)
                #expect(instancer.instances == set, "the last good set stays")
            }
        }
    }
}

extension InstancerFixture {
    /// Seeds the service, starts an instancer and waits for the seeded set.
    func watchSeeded() async throws -> (any Instancer, InstanceSubscription, [Instance]) {
        let seeded = try await seed()
        let instancer = try makeInstancer()
        let subscription = instancer.subscribe()
        let set = try await subscription.set(seeded.sorted(), within: .seconds(20))
        return (instancer, subscription, set)
    }

    /// The first set a fresh instancer publishes.
    func firstSet() async throws -> [Instance]? {
        let instancer = try makeInstancer()
        defer { instancer.stop() }
        return try await instancer.subscribe().first(within: .seconds(20), "a set") { $0.instances != nil }
            .instances
    }
}
