import Discovery
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps one instance registered for as long as a service runs, as a swift-service-lifecycle
/// `Service`.
///
/// `run()` registers (trying again with ``Configuration/retry`` while the backend refuses), and
/// the registrar keeps and restores the registration from then on. With
/// ``Configuration/readiness`` it registers only once the check passes, deregisters after
/// the configured failures in a row and registers again when the check passes again.
///
/// On graceful shutdown `run()` drains as ``Drain`` says (out of service or deregistered, then
/// the drain period) and returns with nothing left registered. On cancellation (a
/// `ServiceGroup` tearing down after a failure) it deregisters at once and returns. A
/// deregistration, once begun, finishes even if the task is cancelled meanwhile. Errors are
/// logged, never thrown: a registration problem does not take the rest of the group down.
///
/// Put it after the servers it announces in a `ServiceGroup`: the group shuts services down in
/// reverse order, so the servers keep serving through the drain.
public final class RegistrationService: Service {
    /// The registrar this service drives.
    public let registrar: any Registrar
    public let configuration: Configuration
    private let logger: Logger
    private let registered = Mutex(false)

    public init(
        registrar: any Registrar, configuration: Configuration = .init(),
        logger: Logger = DiscoveryLogging.disabled
    ) {
        self.registrar = registrar
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "sd.id"] = "\(registrar.instance.id ?? registrar.instance.address)"
        self.logger = logger
    }

    /// Whether the instance is registered now (between a register that worked and the
    /// deregistration that follows): what a health endpoint or a metric may show.
    public var isRegistered: Bool { registered.withLock { $0 } }

    public func run() async {
        while true {
            if let readiness = configuration.readiness {
                let ready = await ShutdownRace.run { [logger] in await Self.waitUntilReady(readiness, logger)
                }
                guard case .finished = ready else { return }
            }
            let registered = await ShutdownRace.run { await self.registerRetrying() }
            guard case .finished = registered else {
                // A register may have landed as the stop came: leave nothing behind.
                return await stop(registered)
            }
            let served: ShutdownRace<String>
            if let readiness = configuration.readiness {
                served = await ShutdownRace.run { [logger] in await Self.failuresInARow(readiness, logger) }
            } else {
                served = await ShutdownRace.run {
                    while !Task.isCancelled { _ = await sleepUnlessCancelled(.seconds(3600)) }
                    return ""
                }
            }
            switch served {
            case .finished(let failure):
                logger.warning(
                    "not ready; deregistering until it is again",
                    metadata: [
                        "sd.failure": "\(failure)", "sd.failures": "\(configuration.readiness!.failures)",
                    ])
                await deregister()
            case .shutdown, .cancelled:
                return await stop(served)
            }
        }
    }

    /// How `run()` ends: drained after graceful shutdown, deregistered at once after cancellation.
    private func stop<Value>(_ outcome: ShutdownRace<Value>) async {
        if case .shutdown = outcome { await drain() } else { await deregister() }
    }

    /// Registers until it works or the task is cancelled (the race around it says which).
    private func registerRetrying() async {
        var backoff = configuration.retry
        while !Task.isCancelled {
            do {
                try await registrar.register()
                registered.withLock { $0 = true }
                logger.info("registered")
                return
            } catch {
                guard !Task.isCancelled else { return }
                let pause = backoff.next()
                logger.warning(
                    "registering failed; trying again",
                    metadata: ["sd.error": "\(error)", "sd.retryIn": "\(pause)"])
                guard await sleepUnlessCancelled(pause) else { return }
            }
        }
    }

    /// Graceful shutdown: out of service or deregistered, the drain period, then nothing left.
    private func drain() async {
        let drain = configuration.drain
        if drain.markOutOfService, let outOfService = registrar as? any OutOfServiceRegistrar {
            do {
                try await uncancelledThrowing { try await outOfService.markOutOfService() }
                logger.info("marked out of service; draining", metadata: ["sd.drain": "\(drain.period)"])
                await wait(drain.period)
                await deregister()
                return
            } catch {
                logger.warning(
                    "marking out of service failed; deregistering", metadata: ["sd.error": "\(error)"])
            }
        }
        await deregister()
        if drain.period > .zero {
            logger.info("deregistered; draining", metadata: ["sd.drain": "\(drain.period)"])
            await wait(drain.period)
        }
    }

    /// The drain period; cut short if the task is cancelled (the group's shutdown timeout).
    private func wait(_ period: Duration) async {
        guard period > .zero else { return }
        if !(await sleepUnlessCancelled(period)) {
            logger.warning("drain cut short by cancellation")
        }
    }

    private func deregister() async {
        let registrar = self.registrar
        do {
            try await uncancelledThrowing { try await registrar.deregister() }
            if registered.withLock({ $0 }) { logger.info("deregistered") }
        } catch {
            logger.error("deregistering failed", metadata: ["sd.error": "\(error)"])
        }
        registered.withLock { $0 = false }
    }

    /// Checks until the first pass.
    static func waitUntilReady(_ readiness: Readiness, _ logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await readiness.check()
                return
            } catch {
                logger.debug("not ready", metadata: ["sd.failure": "\(error)"])
            }
            guard await sleepUnlessCancelled(readiness.startupInterval) else { return }
        }
    }

    /// Checks every interval until `failures` fail in a row; returns the last failure.
    static func failuresInARow(_ readiness: Readiness, _ logger: Logger) async -> String {
        var inARow = 0
        while await sleepUnlessCancelled(readiness.interval) {
            do {
                try await readiness.check()
                inARow = 0
            } catch {
                inARow += 1
                logger.info(
                    "readiness check failed", metadata: ["sd.failure": "\(error)", "sd.inARow": "\(inARow)"])
                if inARow >= readiness.failures { return "\(error)" }
            }
        }
        return "cancelled"
    }
}
