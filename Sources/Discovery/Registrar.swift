/// Puts one instance into a discovery system while this process is alive and takes it out.
///
/// ``register()`` and ``deregister()`` are idempotent, and deregistering removes exactly what
/// registering created. A registration the backend drops (session expiry, lease loss) is
/// restored by the registrar itself, and the restoration is logged.
public protocol Registrar: Sendable {
    /// The instance this registrar registers, with its backend id filled in.
    var instance: Instance { get }
    /// Registers the instance; registering again while registered does nothing.
    func register() async throws
    /// Removes the registration; removing it when it is not there does nothing.
    func deregister() async throws
}
