import Discovery

/// How instances are kept under an etcd prefix: what the keys are and what their values say.
/// docs/etcd.md has both layouts byte for byte.
public enum EtcdLayout: String, Sendable, Equatable, CaseIterable {
    /// go-kit's etcdv3: `prefix + id` whose value is `host:port`.
    case gokit
    /// etcd's own gRPC naming (`clientv3/naming/endpoints`, grpc-go's etcd resolver):
    /// `target/ADDR` whose value is the endpoints manager's JSON,
    /// `{"Op":0,"Addr":"host:port","Metadata":...}`.
    case grpc

    /// Which layout a value is in: the manager's JSON starts with `{` (after any blank space),
    /// an address never does.
    public static func of(value: [UInt8]) -> EtcdLayout {
        JSONString.startsObject(value) ? .grpc : .gokit
    }
}
