import CZooKeeper
import Discovery

/// A failure reported by the ZooKeeper C client: its return code and what it means. The
/// client throws it as the `DiscoveryError/cause` of a `DiscoveryError`
/// (`DiscoveryError/zooKeeperError`).
public struct ZooKeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The C client's return code (`ZNONODE`, `ZCONNECTIONLOSS`, ...).
    public let code: Int32
    public let message: String

    public init(code: Int32, path: String? = nil) {
        self.code = code
        let reason = String(cString: zerror(code))
        message = path.map { "\($0): \(reason)" } ?? reason
    }

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var isNoNode: Bool { code == ZNONODE.rawValue }
    public var isNodeExists: Bool { code == ZNODEEXISTS.rawValue }
    public var isConnectionLoss: Bool {
        code == ZCONNECTIONLOSS.rawValue || code == ZOPERATIONTIMEOUT.rawValue
    }

    public var description: String { message }

    /// The toolkit's classification of this failure.
    public var discoveryError: DiscoveryError {
        switch code {
        case ZCONNECTIONLOSS.rawValue, ZOPERATIONTIMEOUT.rawValue, ZSESSIONEXPIRED.rawValue,
            ZCLOSING.rawValue,
            ZINVALIDSTATE.rawValue:
            return DiscoveryError(.unavailable, "zookeeper: \(message)", cause: self)
        case ZNOAUTH.rawValue, ZAUTHFAILED.rawValue:
            return DiscoveryError(.permissionDenied, "zookeeper: \(message)", cause: self)
        case ZNONODE.rawValue:
            return DiscoveryError(.notFound, "zookeeper: \(message)", cause: self)
        case ZNODEEXISTS.rawValue:
            return DiscoveryError(.alreadyExists, "zookeeper: \(message)", cause: self)
        case ZBADARGUMENTS.rawValue:
            return DiscoveryError(.invalidArgument, "zookeeper: \(message)", cause: self)
        default:
            return DiscoveryError(.io, "zookeeper: \(message)", cause: self)
        }
    }
}

extension DiscoveryError {
    /// The ZooKeeper C client's failure underneath, if this came from it.
    public var zooKeeperError: ZooKeeperError? { cause as? ZooKeeperError }
}

extension DiscoveryError {
    var isNoNode: Bool { zooKeeperError?.isNoNode == true }
    var isConnectionLoss: Bool { zooKeeperError?.isConnectionLoss == true }
}
