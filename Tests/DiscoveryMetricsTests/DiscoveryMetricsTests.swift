import Discovery
import DiscoveryMetrics
import FileDiscovery
import Foundation
import Logging
import MetricsTestKit
import Synchronization
import TestSupport
import Testing

/// The metrics, read back through swift-metrics' test kit.
@Suite("Metrics for instancers, registrars and endpointers")
struct DiscoveryMetricsTests {
    static let web = [("backend", "file"), ("service", "web")]

    @Test("an instancer's count, events, errors and the age of its last set")
    func instancer() async throws {
        let metrics = TestMetrics()
        let temporary = TemporaryDirectory("sdctl-metrics")
        defer { temporary.remove() }
        let directory = FileServiceDirectory(path: temporary.path + "/web")
        let registrars = try ["10.0.0.1:80", "10.0.0.2:80"].map {
            try FileRegistrar(directory: directory, instance: Instance(address: $0))
        }
        for registrar in registrars { try await registrar.register() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        let reporter = InstancerMetrics(
            instancer, backend: "file", service: "web", ageInterval: .milliseconds(50), factory: metrics)
        let running = Task { await reporter.run() }
        defer { running.cancel() }

        try await eventually(.seconds(30), "the count") {
            (try? metrics.expectGauge(DiscoveryMetricLabels.instances, Self.web).lastValue) == 2
        }
        let events = try metrics.expectCounter(DiscoveryMetricLabels.instancerEvents, Self.web)
        #expect(events.totalValue >= 1)
        try await registrars[0].deregister()
        try await eventually(.seconds(30), "the count after a leave") {
            (try? metrics.expectGauge(DiscoveryMetricLabels.instances, Self.web).lastValue) == 1
        }

        // The directory goes: failures are counted, the count stays, the last set ages.
        try FileManager.default.moveItem(atPath: directory.path, toPath: directory.path + ".gone")
        try Data().write(to: URL(fileURLWithPath: directory.path))
        try await eventually(.seconds(30), "a failure counted") {
            ((try? metrics.expectCounter(DiscoveryMetricLabels.instancerErrors, Self.web).totalValue) ?? 0)
                >= 1
        }
        try await eventually(.seconds(30), "the last set aging") {
            ((try? metrics.expectGauge(DiscoveryMetricLabels.lastSetAge, Self.web).lastValue) ?? 0) > 0.1
        }
        #expect(try metrics.expectGauge(DiscoveryMetricLabels.instances, Self.web).lastValue == 1)
        instancer.stop()
        try await finished(running, within: .seconds(30), "run() to return once the instancer stops")
    }

    @Test("a registrar's registrations, failures and registered state")
    func registrar() async throws {
        let metrics = TestMetrics()
        let temporary = TemporaryDirectory("sdctl-metrics-registrar")
        defer { temporary.remove() }
        let registrar = MeteredRegistrar(
            try FileRegistrar(
                directory: FileServiceDirectory(path: temporary.path + "/web"),
                instance: Instance(address: "10.0.0.1:80")),
            backend: "file", service: "web", factory: metrics)
        let registered = try metrics.expectGauge(DiscoveryMetricLabels.registered, Self.web)
        #expect(registered.lastValue == 0)
        try await registrar.register()
        try await registrar.register()
        let registrations = try metrics.expectCounter(DiscoveryMetricLabels.registrations, Self.web)
        #expect(registrations.totalValue == 1, "registering again while registered is not a registration")
        #expect(registered.lastValue == 1)
        try await registrar.deregister()
        #expect(registered.lastValue == 0)
        try await registrar.register()
        #expect(registrations.totalValue == 2)
        try await registrar.deregister()

        // A directory that cannot be made: the register call fails and is counted.
        let blocked = temporary.path + "/blocked"
        #expect(FileManager.default.createFile(atPath: blocked, contents: Data()))
        let failing = MeteredRegistrar(
            try FileRegistrar(
                directory: FileServiceDirectory(path: blocked + "/web"),
                instance: Instance(address: "10.0.0.2:80")),
            backend: "file", service: "api", factory: metrics)
        await #expect(throws: (any Error).self) { try await failing.register() }
        #expect(
            try metrics.expectCounter(
                DiscoveryMetricLabels.registrationFailures, [("backend", "file"), ("service", "api")]
            ).totalValue == 1)
    }

    @Test("restorations, factory failures and invalidations are counted from the library's log events")
    func events() async throws {
        let metrics = TestMetrics()
        let recorded = RecordingLogHandler.Messages()
        // The wrapped handler is quieter than the events: they are counted, and not handed on.
        var logger = Logger(label: "web") { _ in
            var quiet = RecordingLogHandler.logger(recorded).handler
            quiet.logLevel = .error
            return DiscoveryEventMetrics(wrapping: quiet, factory: metrics)
        }
        logger[metadataKey: "sd.service"] = "web"

        let temporary = TemporaryDirectory("sdctl-metrics-events")
        defer { temporary.remove() }
        let registrar = try FileRegistrar(
            directory: FileServiceDirectory(path: temporary.path + "/web"),
            instance: Instance(address: "10.0.0.1:80"), logger: logger)
        try await registrar.register()
        defer { Task { try? await registrar.deregister() } }
        try FileManager.default.removeItem(atPath: registrar.entryPath)
        try await eventually(.seconds(15), "the restoration counted") {
            metrics.counters(label: DiscoveryMetricLabels.restorations, dimensions: Self.web).first?
                .totalValue == 1
        }

        struct Refused: Error {}
        let cache = EndpointCache<String>(
            factory: { _ in throw Refused() }, invalidateOnError: .milliseconds(1), logger: logger)
        cache.update(.instances([Instance(address: "10.0.0.1:80")]))
        #expect(
            metrics.counters(
                label: DiscoveryMetricLabels.factoryFailures,
                dimensions: [("backend", ""), ("service", "web")]
            )
            .first?.totalValue == 1)
        let working = EndpointCache<String>(
            factory: { ($0.address, nil) }, invalidateOnError: .milliseconds(1), logger: logger)
        working.update(.instances([Instance(address: "10.0.0.1:80")]))
        working.update(.failure(DiscoveryError(.unavailable, "down")))
        #expect(working.invalidateIfExpired(now: .now + .seconds(1)))
        #expect(
            metrics.counters(
                label: DiscoveryMetricLabels.invalidations, dimensions: [("backend", ""), ("service", "web")]
            )
            .first?.totalValue == 1)
        #expect(recorded.all.filter { !$0.hasPrefix("error") }.isEmpty, "nothing under error handed on")
    }
}
