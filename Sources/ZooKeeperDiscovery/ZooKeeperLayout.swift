import Discovery

/// How instances are kept under a ZooKeeper path: which children there are, and what their data
/// says. docs/zookeeper.md has both layouts byte for byte.
public enum ZooKeeperLayout: String, Sendable, Equatable, CaseIterable {
    /// go-kit's: one ephemeral sequential child per instance, whose data is `host:port`.
    case gokit
    /// Apache Curator's service discovery (what Spring Cloud Zookeeper uses): one ephemeral
    /// child per instance, named by its id, whose data is Curator's `ServiceInstance` JSON.
    case curator

    /// Which layout a child's data is in: Curator's JSON starts with `{` (after any blank
    /// space), an address never does.
    public static func of(data: [UInt8]) -> ZooKeeperLayout {
        JSONString.startsObject(data) ? .curator : .gokit
    }
}
