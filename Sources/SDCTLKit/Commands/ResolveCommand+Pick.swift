import Discovery
import LoadBalancing
import Logging

/// `sdctl resolve TARGET --pick BALANCER [-n K] [--key KEY] [--zone ZONE]`: which instances a
/// balancer would pick from the resolved set.
extension ResolveCommand {
    struct PickRequest {
        var balancer: BalancerChoice
        var count: Int
        var key: String?
        var zone: String?

        /// The --pick options, or nil without --pick (the others are then refused).
        static func parse(_ context: CommandContext) throws(CLIError) -> PickRequest? {
            let count = try context.integer("picks", default: 1)!
            let key = context.invocation.value("key")
            let zone = context.invocation.value("zone")
            guard let balancer = try BalancerChoice.parse("pick", context) else {
                for (option, given) in [
                    ("picks", context.invocation.value("picks") != nil), ("key", key != nil),
                    ("zone", zone != nil),
                ]
                where given {
                    throw context.usage("--\(option) goes with --pick")
                }
                return nil
            }
            guard count <= 1_000_000 else { throw context.usage("--picks must be at most 1000000") }
            if key != nil, !balancer.takesKey {
                let keyed = BalancerChoice.allCases.filter(\.takesKey).map(\.rawValue).joined(separator: ", ")
                throw context.usage("--key goes with a --pick balancer that takes a key (\(keyed))")
            }
            if balancer == .zone, zone == nil {
                throw context.usage("--pick zone needs --zone, the caller's zone")
            }
            if zone != nil, balancer != .zone { throw context.usage("--zone goes with --pick zone") }
            return PickRequest(balancer: balancer, count: count, key: key, zone: zone)
        }
    }

    /// The addresses `request.count` picks return. Leases are held until all picks are made,
    /// as if every call were still running, so load-aware balancers spread them. With a key,
    /// the first is the key's instance and each next one is where a retry would go.
    static func picks(_ request: PickRequest, from set: [Instance]) throws(DiscoveryError) -> [String] {
        let cache = EndpointCache<String>(factory: { ($0.address, nil) }, logger: Logger(label: "sdctl.pick"))
        cache.update(.instances(set))
        var picked: [String] = []
        picked.reserveCapacity(request.count)
        let balancer = request.balancer.make(cache, localZone: request.zone ?? "")
        if let key = request.key, let keyed = balancer as? any KeyedBalancer<String> {
            let hash = KeyHash.hash(key)
            for _ in 0..<request.count {
                picked.append(try keyed.pick(hash: hash, avoiding: picked.last).address)
            }
            return picked
        }
        var held: [HeldLease] = []
        for _ in 0..<request.count {
            let lease = try balancer.lease(avoiding: nil)
            picked.append(lease.address)
            held.append(HeldLease(lease))
        }
        return picked
    }

    final class HeldLease {
        var lease: Lease<String>?
        init(_ lease: consuming Lease<String>) { self.lease = consume lease }
    }

    static func printPicks(_ picked: [String], _ request: PickRequest, _ context: CommandContext) {
        switch context.format {
        case .text:
            for address in picked { context.output.line(address.terminalSafe) }
        case .json:
            var counts: [String: Int] = [:]
            for address in picked { counts[address, default: 0] += 1 }
            var object: [(String, JSONValue)] = [
                ("balancer", .string(request.balancer.rawValue)),
                ("picks", .array(picked.map(JSONValue.string))),
                ("counts", .object(counts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ]
            if let key = request.key { object.append(("key", .string(key))) }
            if let zone = request.zone { object.append(("zone", .string(zone))) }
            context.output.json(.object(object))
        }
    }
}
