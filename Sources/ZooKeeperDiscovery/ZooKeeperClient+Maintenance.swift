import Discovery

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum ZooKeeperMaintenance {
    /// Deletes every child of `path` whose name is `idOrAddress` or whose instance has that
    /// address (go-kit's data, or a Curator instance's address and port or sslPort); returns the
    /// names deleted.
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
            guard
                name == idOrAddress
                    || (try? content.get()).map({ Self.addresses(in: $0) })?.contains(idOrAddress) == true
            else { continue }
            do {
                try await client.delete("\(path)/\(name)")
                removed.append(name)
            } catch  where error.isNoNode {
                continue
            }
        }
        return removed.sorted()
    }

    /// The addresses a child's data names, in either layout.
    static func addresses(in data: [UInt8]) -> [String] {
        switch ZooKeeperLayout.of(data: data) {
        case .gokit:
            let text = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            return [(try? HostPort(parsing: text).description) ?? text]
        case .curator:
            guard let instance = try? CuratorServiceInstance(json: data) else { return [] }
            return [CuratorServiceInstance.Port.plain, .ssl].compactMap {
                try? instance.instance(port: $0).address
            }
        }
    }
}
