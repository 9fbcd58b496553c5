import Discovery

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum EtcdMaintenance {
    /// Deletes every key under `prefix` whose name after the prefix is `idOrAddress` or whose
    /// value is that address; returns the ids (names after the prefix) deleted.
    public static func remove(idOrAddress: String, prefix: String, client: EtcdClient)
        async throws(DiscoveryError)
        -> [String]
    {
        let (kvs, _) = try await client.range(prefix: Array(prefix.utf8))
        var removed: [String] = []
        for kv in kvs {
            let id = String(String(decoding: kv.key, as: UTF8.self).dropFirst(prefix.count))
            guard id == idOrAddress || Self.address(in: kv.value) == idOrAddress else { continue }
            if try await client.delete(kv.key) > 0 { removed.append(id) }
        }
        return removed.sorted()
    }

    /// The address a value names, in either layout.
    static func address(in value: [UInt8]) -> String? {
        switch EtcdLayout.of(value: value) {
        case .gokit:
            let text = String(decoding: value, as: UTF8.self).trimmingWhitespace()
            return (try? HostPort(parsing: text).description) ?? text
        case .grpc:
            return (try? GRPCNamingUpdate(json: value).instance(id: ""))??.address
        }
    }
}
