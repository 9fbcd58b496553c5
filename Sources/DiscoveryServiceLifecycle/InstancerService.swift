import Discovery
import ServiceLifecycle

/// Runs an instancer as a swift-service-lifecycle `Service`: `run()` returns once the instancer
/// has stopped, and graceful shutdown or cancellation stops it (ending its subscriptions).
///
/// Put it before the services that pick from it in a `ServiceGroup`: the group shuts services
/// down in reverse order, so discovery outlives the clients that use it.
public struct InstancerService: Service {
    /// The instancer this service runs.
    public let instancer: any Instancer

    public init(_ instancer: any Instancer) {
        self.instancer = instancer
    }

    public func run() async {
        let instancer = self.instancer
        await withGracefulShutdownHandler {
            await instancer.run()
        } onGracefulShutdown: {
            instancer.stop()
        }
    }
}
