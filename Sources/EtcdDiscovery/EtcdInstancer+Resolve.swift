import Discovery
import Logging

extension EtcdInstancer {
    /// The instances under `prefix` now: the instancer's first read (one prefix Range, each
    /// key read in `layout` or its own, keys that fit no layout reported and skipped), without
    /// a watch. For a process that asks once; the caller owns `client`.
    public static func resolve(
        client: EtcdClient, prefix: String, layout: EtcdLayout? = nil,
        logger: Logger = DiscoveryLogging.disabled
    ) async throws(DiscoveryError) -> [Instance] {
        let reader = KeyReader(prefix: prefix, layout: layout, logger: logger.forBackend("etcd"))
        let (kvs, _) = try await client.range(prefix: Array(prefix.utf8))
        return reader.instances(kvs).sorted
    }
}
