/// Watches a discovery system and publishes the complete, current set of instances of one
/// service.
///
/// Every instancer keeps these promises:
/// - a new subscriber first gets the current state (if there is one yet), then a full set on
///   every real change; identical consecutive sets are not sent again;
/// - failures arrive as ``InstancerEvent/failure(_:)`` events, and the watch goes on with
///   backoff for as long as the instancer lives;
/// - a slow subscriber only ever misses intermediate states, never the latest, and never
///   holds up the backend or other subscribers;
/// - after ``stop()`` returns, nothing more is delivered;
/// - an instancer dropped without ``stop()`` stops: its subscriptions end.
///
/// A backend's instancer is its watch plus an ``InstancerCore`` (``CoreBackedInstancer``),
/// which keeps these promises once for all of them.
public protocol Instancer: Sendable {
    /// Starts a subscription whose first element is the current state.
    func subscribe() -> InstanceSubscription
    /// The last good set, kept through failures; `nil` before the first set arrives.
    var instances: [Instance]? { get }
    /// How current ``instances`` is: when the backend last confirmed it and whether it is kept
    /// through a failure; `nil` before the first set (and for an instancer that cannot tell).
    var freshness: InstanceFreshness? { get }
    /// Returns once the instancer has stopped; cancelling the calling task stops it. The watch
    /// runs from the instancer's creation: `run()` lets it live as a child of a task group or a
    /// swift-service-lifecycle `ServiceGroup`, which ends it by cancellation.
    func run() async
    /// Stops watching, ends every subscription and cancels I/O in flight. Idempotent.
    func stop()
}

extension Instancer {
    /// Unknown: an instancer that keeps no ``InstanceCache`` cannot tell.
    public var freshness: InstanceFreshness? { nil }
}
