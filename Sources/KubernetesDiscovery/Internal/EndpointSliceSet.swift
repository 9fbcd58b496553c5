import Discovery

/// The instances of one Service: the union of its EndpointSlices, kept by slice name so that a
/// watch event replaces exactly the slice it names.
///
/// An endpoint is its first address (the API says the addresses of one endpoint are fungible)
/// on the selected port; one address in two slices (while one slice replaces another) counts
/// once, the ready copy first.
struct EndpointSliceSet: Sendable {
    let namespace: String
    let service: String
    let selection: KubernetesEndpointSelection
    let maximumInstances: Int
    private(set) var slices: [String: EndpointSlice] = [:]
    /// What each slice gives, made when the slice arrives, so that an event costs the work of
    /// its own slice plus a merge of the others' (no endpoint of an unchanged slice is read
    /// again).
    private var built: [String: Built] = [:]

    /// One slice's part: whether it has an endpoint the selection includes, its port names, and
    /// its instances on the selected port, sorted.
    struct Built: Sendable {
        var populated: Bool
        var portNames: [String]
        var instances: [Instance]
    }

    init(namespace: String, service: String, selection: KubernetesEndpointSelection, maximumInstances: Int) {
        self.namespace = namespace
        self.service = service
        self.selection = selection
        self.maximumInstances = maximumInstances
    }

    /// Replaces every slice with a list's.
    mutating func replaceAll(_ items: [EndpointSlice]) {
        slices = Dictionary(items.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, last in last })
        built = slices.mapValues(build)
    }

    mutating func apply(_ event: EndpointSliceEvent) {
        switch event {
        case .added(let slice), .modified(let slice):
            slices[slice.metadata.name] = slice
            built[slice.metadata.name] = build(slice)
        case .deleted(let slice):
            slices.removeValue(forKey: slice.metadata.name)
            built.removeValue(forKey: slice.metadata.name)
        case .bookmark, .error: break
        }
    }

    private func build(_ slice: EndpointSlice) -> Built {
        let endpoints = slice.endpoints ?? []
        let populated = endpoints.contains(where: includes)
        var instances: [Instance] = []
        if populated, let port = port(of: slice) {
            instances.reserveCapacity(endpoints.count)
            for endpoint in endpoints where includes(endpoint) {
                if let instance = Self.instance(endpoint, port: port) { instances.append(instance) }
            }
        }
        return Built(
            populated: populated, portNames: populated ? (slice.ports ?? []).map { $0.name ?? "" } : [],
            instances: instances)
    }

    /// Whether `endpoint` counts under the selection's inclusion.
    func includes(_ endpoint: EndpointSlice.Endpoint) -> Bool {
        let ready = endpoint.conditions?.ready ?? true
        switch selection.include {
        case .ready: return ready
        case .serving: return ready || (endpoint.conditions?.serving ?? ready)
        case .terminating: return true
        }
    }

    /// The instances, sorted; the selection's port must be there (a Service with several ports
    /// and no choice, or a named port no slice has, is an error that names the ports there are).
    func instances() throws(DiscoveryError) -> [Instance] {
        let populated = built.filter { $0.value.populated }
        let ports = Set(populated.values.flatMap(\.portNames))
        let names = ports.sorted().map { $0.isEmpty ? "(unnamed)" : $0 }.joined(separator: ", ")
        let what = "service \(service) in namespace \(namespace)"
        switch selection.port {
        case .only where ports.count > 1:
            throw DiscoveryError(
                .invalidArgument,
                "k8s: \(what) has several ports (\(names)): choose one with ?port=NAME or ?port=NUMBER")
        case .only where !populated.isEmpty && ports.isEmpty:
            throw DiscoveryError(
                .invalidArgument, "k8s: the endpoints of \(what) name no port: choose one with ?port=NUMBER")
        case .named(let name) where !populated.isEmpty && !ports.contains(name):
            throw DiscoveryError(
                .invalidArgument, "k8s: \(what) has no port named '\(name)' (its ports: \(names))")
        default:
            break
        }
        var byAddress: [String: Instance] = [:]
        byAddress.reserveCapacity(populated.values.reduce(0) { $0 + $1.instances.count })
        for name in populated.keys.sorted() {
            for instance in populated[name]!.instances {
                if let held = byAddress[instance.address], held.metadata["k8s.ready"] == nil { continue }
                byAddress[instance.address] = instance
                guard byAddress.count <= maximumInstances else {
                    let cause = InstanceLimitExceeded(limit: maximumInstances)
                    throw DiscoveryError(.invalidResponse, "k8s: \(what): \(cause)", cause: cause)
                }
            }
        }
        return byAddress.values.sorted()
    }

    /// The selected port's number in `slice`, if it has it.
    private func port(of slice: EndpointSlice) -> UInt16? {
        let ports = slice.ports ?? []
        let number: Int?
        switch selection.port {
        case .only: number = ports.first?.port
        case .named(let name): number = ports.first { ($0.name ?? "") == name }?.port
        case .number(let wanted):
            number = ports.isEmpty || ports.contains { $0.port == wanted } ? wanted : nil
        }
        guard let number, let port = UInt16(exactly: number), port > 0 else { return nil }
        return port
    }

    private static func instance(_ endpoint: EndpointSlice.Endpoint, port: UInt16) -> Instance? {
        guard let host = endpoint.addresses.first, !host.isEmpty,
            let address = try? HostPort(parsing: HostPort(host: host, port: port).description)
        else { return nil }
        var metadata: [String: String] = [:]
        if let node = endpoint.nodeName { metadata["k8s.node"] = node }
        if let hostname = endpoint.hostname { metadata["k8s.hostname"] = hostname }
        if let target = endpoint.targetRef, let name = target.name {
            // A pod, as almost always; anything else under its own kind (`k8s.node`, ...).
            let kind = (target.kind ?? "Pod").lowercased()
            metadata["k8s.\(kind)"] = name
        }
        // Only what differs from a plain ready endpoint is marked.
        if !(endpoint.conditions?.ready ?? true) { metadata["k8s.ready"] = "false" }
        if endpoint.conditions?.terminating ?? false { metadata["k8s.terminating"] = "true" }
        return Instance(
            address: address.description, id: metadata["k8s.pod"] ?? address.description, metadata: metadata,
            zone: endpoint.zone)
    }
}
