/// What happens to a ``ZooKeeperClient``'s session, as its listeners hear it.
public enum ZooKeeperSessionEvent: Sendable, Hashable {
    /// Connected (or reconnected) with session `session`; `number` counts the sessions this
    /// client has had, so a new number means a new session after an expiry.
    case connected(session: Int64, number: Int)
    /// The connection dropped; the library reconnects by itself and keeps the session.
    case disconnected
    /// The session expired: its ephemeral nodes and watches are gone. A new session follows.
    case expired
    /// The server refused the credentials.
    case authenticationFailed
    /// The client was closed.
    case closed
}
