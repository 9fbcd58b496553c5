/// A registrar whose backend can keep a registration while telling clients to stop picking it
/// (Eureka's OUT_OF_SERVICE), the first step of draining an instance before it is removed.
public protocol OutOfServiceRegistrar: Registrar {
    /// Marks the registration out of service; ``Registrar/deregister()`` still removes it.
    func markOutOfService() async throws
}
