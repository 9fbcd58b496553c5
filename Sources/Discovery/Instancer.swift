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
/// - after ``stop()`` returns, nothing more is delivered.
public protocol Instancer: Sendable {
    /// Starts a subscription whose first element is the current state.
    func subscribe() -> InstanceSubscription
    /// Stops watching, ends every subscription and cancels I/O in flight. Idempotent.
    func stop()
}
