import Discovery
import Synchronization

extension EurekaRegistrar: OutOfServiceRegistrar {
    /// Overrides the instance's status to OUT_OF_SERVICE (`PUT .../status?value=OUT_OF_SERVICE`):
    /// clients that honour the status, as Eureka's own do, stop picking it while its lease is
    /// kept, and a lease the server forgot is registered again out of service. ``deregister()``
    /// then cancels the lease.
    public func markOutOfService() async throws {
        // First, so that a restore racing this registers the instance out of service too.
        currentStatus.withLock { $0 = .outOfService }
        // Not another process's instance that took over our id.
        guard try await isStillOurs() else { return }
        try await client.overrideStatus(
            app: registration.app, instanceID: registration.instanceID, .outOfService)
    }
}
