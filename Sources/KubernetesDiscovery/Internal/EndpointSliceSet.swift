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
    /// What each slice gives, made when the slice arrives (the slice itself is not kept).
    private var built: [String: Built] = [:]
    /// Every slice's instance of each address, in slice-name order (the order the winner is
    /// chosen in).
    private var holders: [String: [(slice: String, instance: Instance)]] = [:]
    /// The winner of each address, sorted: what ``instances()`` returns. An event changes only
    /// the addresses of its own slice here, so it costs in proportion to that slice (plus the
    /// log of the set's size), not to the whole Service.
    private var winners: [Instance] = []
    /// How many populated slices name each port.
    private var portCounts: [String: Int] = [:]
    private var populatedSlices = 0
    /// Counts the changes of the winners, so that a publisher can tell a changed set from the
    /// same one without comparing them.
    private(set) var revision = 0

    /// One slice's part: whether it has an endpoint the selection includes, its port names, and
    /// its instances on the selected port, in the slice's order.
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

    /// How many slices the set holds.
    var sliceCount: Int { built.count }

    /// Replaces every slice with a list's.
    mutating func replaceAll(_ items: [EndpointSlice]) {
        let slices = Dictionary(items.map { ($0.metadata.name, $0) }, uniquingKeysWith: { _, last in last })
        built = [:]
        holders = [:]
        portCounts = [:]
        populatedSlices = 0
        for name in slices.keys.sorted() {
            let part = build(slices[name]!)
            built[name] = part
            add(part, of: name)
        }
        winners = holders.values.compactMap(Self.winner).sorted()
        revision += 1
    }

    mutating func apply(_ event: EndpointSliceEvent) {
        switch event {
        case .added(let slice), .modified(let slice):
            replace(slice.metadata.name, with: build(slice))
        case .deleted(let slice):
            replace(slice.metadata.name, with: nil)
        case .bookmark, .error: break
        }
    }

    /// Swaps slice `name`'s part for `part`, and the winners of the addresses either has.
    private mutating func replace(_ name: String, with part: Built?) {
        let old = built[name]
        var affected = Set(old?.instances.map(\.address) ?? [])
        affected.formUnion(part?.instances.map(\.address) ?? [])
        let before = affected.map { ($0, holders[$0].flatMap(Self.winner)) }
        if let old { remove(old, of: name) }
        built[name] = part
        if let part { add(part, of: name) }
        for (address, previous) in before {
            let next = holders[address].flatMap(Self.winner)
            guard previous != next else { continue }
            revision += 1
            if let previous {
                var index = lowerBound(previous)
                while index < winners.count && winners[index] != previous { index += 1 }
                if index < winners.count { winners.remove(at: index) }
            }
            if let next { winners.insert(next, at: lowerBound(next)) }
        }
    }

    private mutating func add(_ part: Built, of name: String) {
        if part.populated {
            populatedSlices += 1
            for port in part.portNames { portCounts[port, default: 0] += 1 }
        }
        for instance in part.instances {
            var list = holders[instance.address] ?? []
            // After every entry of a slice named `name` or less: slice order, and within a
            // slice the endpoints' order.
            let index = list.firstIndex { $0.slice > name } ?? list.count
            list.insert((name, instance), at: index)
            holders[instance.address] = list
        }
    }

    private mutating func remove(_ part: Built, of name: String) {
        if part.populated {
            populatedSlices -= 1
            for port in part.portNames {
                portCounts[port, default: 0] -= 1
                if portCounts[port] == 0 { portCounts[port] = nil }
            }
        }
        for address in Set(part.instances.map(\.address)) {
            holders[address]?.removeAll { $0.slice == name }
            if holders[address]?.isEmpty == true { holders[address] = nil }
        }
    }

    /// The first ready instance in slice order, else the last (a not-ready copy gives way to a
    /// ready one, never the other way).
    private static func winner(_ list: [(slice: String, instance: Instance)]) -> Instance? {
        list.first { $0.instance.metadata["k8s.ready"] == nil }?.instance ?? list.last?.instance
    }

    private func lowerBound(_ instance: Instance) -> Int {
        var low = 0
        var high = winners.count
        while low < high {
            let middle = (low + high) / 2
            if winners[middle] < instance { low = middle + 1 } else { high = middle }
        }
        return low
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
        let ports = portCounts.keys
        var names: String { ports.sorted().map { $0.isEmpty ? "(unnamed)" : $0 }.joined(separator: ", ") }
        var what: String { "service \(service) in namespace \(namespace)" }
        switch selection.port {
        case .only where ports.count > 1:
            throw DiscoveryError(
                .invalidArgument,
                "k8s: \(what) has several ports (\(names)): choose one with ?port=NAME or ?port=NUMBER")
        case .only where populatedSlices > 0 && ports.isEmpty:
            throw DiscoveryError(
                .invalidArgument, "k8s: the endpoints of \(what) name no port: choose one with ?port=NUMBER")
        case .named(let name) where populatedSlices > 0 && portCounts[name] == nil:
            throw DiscoveryError(
                .invalidArgument, "k8s: \(what) has no port named '\(name)' (its ports: \(names))")
        default:
            break
        }
        guard winners.count <= maximumInstances else {
            let cause = InstanceLimitExceeded(limit: maximumInstances)
            throw DiscoveryError(.invalidResponse, "k8s: \(what): \(cause)", cause: cause)
        }
        return winners
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
