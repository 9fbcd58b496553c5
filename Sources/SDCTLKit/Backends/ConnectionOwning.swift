import Discovery

/// An instancer that owns the client it watches through: stopping it closes the client. The
/// toolkit's instancers leave their client to the caller; sdctl makes one client per target.
struct ConnectionOwningInstancer<Base: Instancer>: Instancer {
    let base: Base
    let close: @Sendable () -> Void

    func subscribe() -> InstanceSubscription { base.subscribe() }
    var instances: [Instance]? { base.instances }
    var freshness: InstanceFreshness? { base.freshness }

    func run() async {
        await base.run()
        close()
    }

    func stop() {
        base.stop()
        close()
    }
}

/// A registrar that owns its client: deregistering closes it, so it registers once (sdctl makes a
/// fresh one to register again).
struct ConnectionOwningRegistrar<Base: Registrar>: Registrar {
    let base: Base
    let close: @Sendable () -> Void

    var instance: Instance { base.instance }

    func register() async throws { try await base.register() }

    func deregister() async throws {
        defer { close() }
        try await base.deregister()
    }
}

extension ConnectionOwningRegistrar: OutOfServiceRegistrar where Base: OutOfServiceRegistrar {
    func markOutOfService() async throws { try await base.markOutOfService() }
}

extension ConnectionOwningRegistrar {
    /// The registrar `make` builds, owning the client that `close` closes; a registrar that
    /// cannot be built closes the client at once.
    static func owning(
        close: @escaping @Sendable () -> Void, _ make: () throws(CLIError) -> Base
    ) throws(CLIError) -> Self {
        do {
            return Self(base: try make(), close: close)
        } catch {
            close()
            throw error
        }
    }
}
