import Discovery

/// Operations on registrations made by others, for tools such as `sdctl deregister`.
public enum EurekaMaintenance {
    /// Cancels every instance of `app` whose instance id is `idOrAddress` or whose `ipAddr:port`
    /// (either port) is that; returns the ids cancelled.
    public static func remove(idOrAddress: String, app: String, client: EurekaClient)
        async throws(DiscoveryError) -> [String]
    {
        var removed: [String] = []
        for record in try await client.instances(of: app) {
            let addresses = [record.instance(secure: false), record.instance(secure: true)].compactMap {
                $0?.address
            }
            guard record.instanceID == idOrAddress || addresses.contains(idOrAddress) else { continue }
            do {
                try await client.cancel(app: app, instanceID: record.instanceID)
                removed.append(record.instanceID)
            } catch {
                guard error.code == .notFound else { throw error }
            }
        }
        return removed
    }
}
