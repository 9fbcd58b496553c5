import Discovery

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum ConsulMaintenance {
    /// Deregisters from the agent every service of `service` whose id is `idOrAddress` or whose
    /// own `address:port` is that (one registered without an address is found by id only);
    /// returns the ids removed. Only this agent's services can be removed this way.
    public static func remove(idOrAddress: String, service: String, client: ConsulClient)
        async throws(DiscoveryError) -> [String]
    {
        let services = try await client.agentServices()
        var removed: [String] = []
        for (id, entry) in services.sorted(by: { $0.key < $1.key }) where entry.service == service {
            let host = entry.address.contains(":") ? "[\(entry.address)]" : entry.address
            guard id == idOrAddress || (!entry.address.isEmpty && "\(host):\(entry.port)" == idOrAddress)
            else {
                continue
            }
            do {
                try await client.deregister(serviceID: id)
                removed.append(id)
            } catch  where error.code == .notFound {
                // Removed by someone else meanwhile.
            }
        }
        return removed
    }
}
