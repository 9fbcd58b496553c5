import Discovery

extension EurekaRegistrar: OutOfServiceRegistrar {
    /// Overrides the instance's status to OUT_OF_SERVICE (`PUT .../status?value=OUT_OF_SERVICE`):
    /// clients that honour the status, as Eureka's own do, stop picking it while its lease is
    /// kept. ``deregister()`` then cancels the lease.
    public func markOutOfService() async throws {
        try await client.overrideStatus(
            app: registration.app, instanceID: registration.instanceID, .outOfService)
    }
}
