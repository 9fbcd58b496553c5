import Discovery
import DiscoveryServiceLifecycle
import FileDiscovery
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import TestSupport
import Testing
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// RegistrationService and InstancerService on the file backend, inside real ServiceGroups.
@Suite("Registration and instancer services for swift-service-lifecycle")
struct RegistrationServiceTests {
    static let address = "127.0.0.1:8080"

    /// A temporary service directory with a watching instancer, for one test.
    struct Fixture {
        let directory: FileServiceDirectory
        let instancer: FileInstancer
        let subscription: InstanceSubscription

        static func with(_ body: (Fixture) async throws -> Void) async throws {
            let temporary = TemporaryDirectory("sdctl-lifecycle")
            defer { temporary.remove() }
            let directory = FileServiceDirectory(path: temporary.path + "/web")
            let instancer = FileInstancer(directory: directory)
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([])
            try await body(Fixture(directory: directory, instancer: instancer, subscription: subscription))
        }

        func registrar(_ log: RecordingLogHandler.Messages? = nil) throws -> FileRegistrar {
            try FileRegistrar(
                directory: directory, instance: Instance(address: RegistrationServiceTests.address),
                logger: log.map { RecordingLogHandler.logger($0) } ?? Logger(label: "test"))
        }
    }

    @Test("registers when run; graceful shutdown deregisters, and run() returns with nothing left")
    func registerAndShutDown() async throws {
        try await Fixture.with { fixture in
            let service = RegistrationService(registrar: try fixture.registrar())
            try await testGracefulShutdown { trigger in
                let running = Task { await service.run() }
                defer { running.cancel() }
                try await fixture.subscription.set([Self.address], within: .seconds(30))
                #expect(service.isRegistered)
                trigger.triggerGracefulShutdown()
                try await finished(running, within: .seconds(30), "run() to return")
                #expect(!service.isRegistered)
                #expect(try fixture.directory.liveInstances().isEmpty)
            }
        }
    }

    @Test("drain: deregistered at once on shutdown, and run() returns only after the drain period")
    func drainAfterDeregistering() async throws {
        try await Fixture.with { fixture in
            let period = Duration.seconds(1)
            let service = RegistrationService(
                registrar: try fixture.registrar(), configuration: .init(drain: .init(period: period)))
            try await testGracefulShutdown { trigger in
                let returned = Mutex<ContinuousClock.Instant?>(nil)
                let running = Task {
                    await service.run()
                    returned.withLock { $0 = .now }
                }
                defer { running.cancel() }
                try await fixture.subscription.set([Self.address], within: .seconds(30))
                let triggered = ContinuousClock.now
                trigger.triggerGracefulShutdown()
                try await fixture.subscription.set([], within: .seconds(30))
                let gone = ContinuousClock.now
                try await finished(running, within: .seconds(30), "run() to return")
                let end = try #require(returned.withLock { $0 })
                #expect(end - triggered >= period, "the drain period was waited")
                #expect(gone < end, "deregistered before the drain, not after")
            }
        }
    }

    @Test("drain with an out-of-service registrar: marked out of service, the period, then deregistered")
    func outOfServiceFirst() async throws {
        try await Fixture.with { fixture in
            let registrar = RecordingRegistrar(try fixture.registrar())
            let service = RegistrationService(
                registrar: registrar,
                configuration: .init(drain: .init(period: .milliseconds(300), markOutOfService: true)))
            try await testGracefulShutdown { trigger in
                let running = Task { await service.run() }
                defer { running.cancel() }
                try await fixture.subscription.set([Self.address], within: .seconds(30))
                trigger.triggerGracefulShutdown()
                try await finished(running, within: .seconds(30), "run() to return")
                let calls = registrar.calls
                #expect(calls.map(\.name) == ["register", "markOutOfService", "deregister"])
                #expect(calls[2].at - calls[1].at >= .milliseconds(300), "the period between them")
            }
        }
    }

    @Test("cancellation deregisters at once, without the drain")
    func cancelled() async throws {
        try await Fixture.with { fixture in
            let service = RegistrationService(
                registrar: try fixture.registrar(), configuration: .init(drain: .init(period: .seconds(60))))
            let running = Task { await service.run() }
            defer { running.cancel() }
            try await fixture.subscription.set([Self.address], within: .seconds(30))
            running.cancel()
            try await finished(running, within: .seconds(30), "run() to return without the 60 s drain")
            #expect(try fixture.directory.liveInstances().isEmpty)
        }
    }

    @Test(
        "readiness: registered once ready, deregistered after failures in a row, registered again when ready")
    func readiness() async throws {
        try await Fixture.with { fixture in
            let ready = Mutex(false)
            struct NotReady: Error {}
            let readiness = RegistrationService.Readiness(
                startupInterval: .milliseconds(50), interval: .milliseconds(50), failures: 2
            ) {
                guard ready.withLock({ $0 }) else { throw NotReady() }
            }
            let log = RecordingLogHandler.Messages()
            let service = RegistrationService(
                registrar: try fixture.registrar(), configuration: .init(readiness: readiness),
                logger: RecordingLogHandler.logger(log))
            try await testGracefulShutdown { trigger in
                let running = Task { await service.run() }
                defer { running.cancel() }
                try await eventually(.seconds(30), "a few failed checks") {
                    log.all.filter { $0.contains("not ready") }.count >= 3
                }
                #expect(try fixture.directory.liveInstances().isEmpty, "nothing registered before ready")
                ready.withLock { $0 = true }
                try await fixture.subscription.set([Self.address], within: .seconds(30))
                ready.withLock { $0 = false }
                try await fixture.subscription.set([], within: .seconds(30))
                #expect(log.all.contains { $0.contains("not ready; deregistering until it is again") })
                ready.withLock { $0 = true }
                try await fixture.subscription.set([Self.address], within: .seconds(30))
                trigger.triggerGracefulShutdown()
                try await finished(running, within: .seconds(30), "run() to return")
                try await fixture.subscription.set([], within: .seconds(30))
            }
        }
    }

    @Test("a refused registration is tried again until it works, and each failure is logged")
    func retries() async throws {
        let temporary = TemporaryDirectory("sdctl-lifecycle-retry")
        defer { temporary.remove() }
        // The service directory's place is taken by a plain file: registering fails until it goes.
        let path = temporary.path + "/web"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let directory = FileServiceDirectory(path: path)
        let log = RecordingLogHandler.Messages()
        let service = RegistrationService(
            registrar: try FileRegistrar(directory: directory, instance: Instance(address: Self.address)),
            configuration: .init(retry: Backoff(initial: .milliseconds(50), maximum: .milliseconds(200))),
            logger: RecordingLogHandler.logger(log))
        try await testGracefulShutdown { trigger in
            let running = Task { await service.run() }
            defer { running.cancel() }
            try await eventually(.seconds(30), "two failures logged") {
                log.all.filter { $0.contains("registering failed; trying again") }.count >= 2
            }
            try FileManager.default.removeItem(atPath: path)
            try await eventually(.seconds(30), "the registration") { service.isRegistered }
            #expect(try directory.liveInstances().map(\.address) == [Self.address])
            trigger.triggerGracefulShutdown()
            try await finished(running, within: .seconds(30), "run() to return")
        }
    }

    @Test(
        "a real ServiceGroup and a real signal: the instancer and the registration run, and SIGUSR1 ends both"
    )
    func serviceGroupAndSignal() async throws {
        try await Fixture.with { fixture in
            // Ignored until the group's handler takes it, so an early signal cannot end the test run.
            // SIGUSR1: SDCTLKitTests' signal watchers use SIGUSR2 in this same process.
            signal(SIGUSR1, SIG_IGN)
            let watched = FileInstancer(directory: fixture.directory)
            let group = ServiceGroup(
                configuration: .init(
                    services: [
                        .init(service: InstancerService(watched)),
                        .init(service: RegistrationService(registrar: try fixture.registrar())),
                    ],
                    gracefulShutdownSignals: [.sigusr1], logger: Logger(label: "group")))
            let running = Task { try await group.run() }
            defer { running.cancel() }
            try await fixture.subscription.set([Self.address], within: .seconds(30))
            try await watched.subscribe().set([Self.address], within: .seconds(30))
            kill(getpid(), SIGUSR1)
            try await finished(running, within: .seconds(30), "the group to return")
            try await fixture.subscription.set([], within: .seconds(30))
            #expect(watched.subscribe().poll() == nil, "the instancer was stopped")
        }
    }
}

/// A registrar that records what is called on it, in order, for the drain's order.
final class RecordingRegistrar: OutOfServiceRegistrar {
    struct Call: Sendable {
        let name: String
        let at: ContinuousClock.Instant
    }

    private let wrapped: FileRegistrar
    private let recorded = Mutex<[Call]>([])

    init(_ wrapped: FileRegistrar) { self.wrapped = wrapped }

    var calls: [Call] { recorded.withLock { $0 } }
    var instance: Instance { wrapped.instance }

    func register() async throws {
        try await wrapped.register()
        record("register")
    }

    func deregister() async throws {
        record("deregister")
        try await wrapped.deregister()
    }

    func markOutOfService() async throws { record("markOutOfService") }

    private func record(_ name: String) { recorded.withLock { $0.append(Call(name: name, at: .now)) } }
}
