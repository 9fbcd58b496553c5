import Discovery

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum ZooKeeperMaintenance {
    /// Deletes every child of `path` whose name is `idOrAddress` or whose data is that address;
    /// returns the names deleted.
    public static func remove(idOrAddress: String, under path: String, client: ZooKeeperClient)
        async throws(DiscoveryError) -> [String]
    {
        let names: [String]
        do {
            names = try await client.children(path)
        } catch  where error.isNoNode {
            return []
        }
        let contents = await client.data(paths: names.map { "\(path)/\($0)" })
        var removed: [String] = []
        for (name, content) in zip(names, contents) {
            let data = (try? content.get()).map { String(decoding: $0, as: UTF8.self).trimmingWhitespace() }
            guard name == idOrAddress || data == idOrAddress else { continue }
            do {
                try await client.delete("\(path)/\(name)")
                removed.append(name)
            } catch  where error.isNoNode {
                continue
            }
        }
        return removed.sorted()
    }
}
