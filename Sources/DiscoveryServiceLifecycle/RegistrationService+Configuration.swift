import Discovery

extension RegistrationService {
    /// How a ``RegistrationService`` registers, gates on readiness, and drains.
    public struct Configuration: Sendable {
        /// When set, the instance is registered only while it is ready (see ``Readiness``).
        public var readiness: Readiness?
        /// What graceful shutdown does before `run()` returns (see ``Drain``).
        public var drain: Drain
        /// The pauses between failed registrations (the backend down, say); registering is
        /// tried until it works or the service is told to stop.
        public var retry: Backoff

        public init(readiness: Readiness? = nil, drain: Drain = .init(), retry: Backoff = Backoff()) {
            self.readiness = readiness
            self.drain = drain
            self.retry = retry
        }
    }

    /// Registration gated on the service's own readiness, as `sdctl register --ready` does: the
    /// instance is registered once ``check`` passes, deregistered after ``failures`` failures
    /// in a row, and registered again when it passes again.
    public struct Readiness: Sendable {
        /// Returns when the service is ready to take traffic; throws (any error, whose
        /// description is logged) when it is not.
        public var check: @Sendable () async throws -> Void
        /// Between checks until the first pass, and while waiting to come back.
        public var startupInterval: Duration
        /// Between checks while registered.
        public var interval: Duration
        /// Failures in a row, while registered, that take the registration out.
        public var failures: Int

        public init(
            startupInterval: Duration = .milliseconds(500), interval: Duration = .seconds(5),
            failures: Int = 3,
            check: @escaping @Sendable () async throws -> Void
        ) {
            precondition(startupInterval > .zero && interval > .zero && failures >= 1)
            self.check = check
            self.startupInterval = startupInterval
            self.interval = interval
            self.failures = failures
        }
    }

    /// What graceful shutdown does: with ``markOutOfService`` and a registrar that can
    /// (`OutOfServiceRegistrar`, Eureka's), the registration is marked out of service, the
    /// service waits ``period`` and then deregisters; otherwise it deregisters first and then
    /// waits ``period``. Either way `run()` returns only after the period, so the services a
    /// `ServiceGroup` shuts down after this one (those listed before it) keep serving while
    /// clients move away.
    public struct Drain: Sendable {
        /// How long clients get to notice that the instance is going; zero: no wait.
        public var period: Duration
        /// Mark the registration out of service for the period instead of removing it first.
        public var markOutOfService: Bool

        public init(period: Duration = .zero, markOutOfService: Bool = false) {
            precondition(period >= .zero)
            self.period = period
            self.markOutOfService = markOutOfService
        }
    }
}
