import Discovery
import TestSupport
import Testing

@testable import LoadBalancing

@Suite("Zone-aware balancer")
struct ZoneAwareBalancerTests {
    func zoned(_ zones: [(String, Int)]) -> [Instance] {
        var instances: [Instance] = []
        for (zone, count) in zones {
            for _ in 0..<count {
                instances.append(Instance(address: "10.0.0.\(instances.count + 1):80", zone: zone))
            }
        }
        return instances
    }

    func shares(_ balancer: ZoneAwareBalancer<EndpointCache<String>>, zones: [String: String]) throws
        -> [String: Double]
    {
        var result: [String: Double] = [:]
        for (address, share) in try balancer.shares() { result[zones[address]!, default: 0] += share }
        return result
    }

    @Test("enough local instances: every pick stays in the local zone")
    func allLocal() throws {
        let instances = zoned([("a", 3), ("b", 3), ("c", 3)])
        let balancer = ZoneAwareBalancer(addressEndpointer(instances), localZone: "a", seed: 1)
        let local = Set(instances.filter { $0.zone == "a" }.map(\.address))
        for _ in 0..<1000 { #expect(local.contains(try balancer.pick())) }
    }

    @Test("too few local instances: local share u/c, the rest spills in proportion to spare room")
    func spillOver() async throws {
        // 1 of 9 in a, callers even over 3 zones: local 1/3 of picks; b and c have 4/9 - 1/3 =
        // 1/9 spare each, so each takes half of the other 2/3.
        let instances = zoned([("a", 1), ("b", 4), ("c", 4)])
        let zones = Dictionary(uniqueKeysWithValues: instances.map { ($0.address, $0.zone!) })
        let balancer = ZoneAwareBalancer(addressEndpointer(instances), localZone: "a", seed: 1)
        let expected = try shares(balancer, zones: zones)
        #expect(abs(expected["a"]! - 1.0 / 3) < 1e-9)
        #expect(abs(expected["b"]! - 1.0 / 3) < 1e-9)
        let picks = 30_000
        // Off the cooperative pool: 30,000 picks take seconds under the sanitizers.
        let counts = try await offPoolAtLowPriority {
            var counts: [String: Int] = [:]
            for _ in 0..<picks { counts[zones[try balancer.pick()]!, default: 0] += 1 }
            return counts
        }
        // 5 standard deviations of a binomial count at p = 1/3: 5 * sqrt(30000 * 2/9) = 408.
        for zone in ["a", "b", "c"] { #expect(abs(counts[zone]! - picks / 3) < 408) }
    }

    @Test("spill goes to the zones with room, by their room")
    func spillByRoom() throws {
        // Callers: 50 % in a, 25 % b, 25 % c. Instances: a 2, b 2, c 6 (of 10). Local share
        // 0.2/0.5 = 0.4; room: b 0.2-0.25 < 0 (none), c 0.6-0.25 = 0.35: all spill to c.
        let instances = zoned([("a", 2), ("b", 2), ("c", 6)])
        let zones = Dictionary(uniqueKeysWithValues: instances.map { ($0.address, $0.zone!) })
        let balancer = ZoneAwareBalancer(
            addressEndpointer(instances), localZone: "a", callerShares: ["a": 2, "b": 1, "c": 1])
        let result = try shares(balancer, zones: zones)
        #expect(abs(result["a"]! - 0.4) < 1e-9)
        #expect(result["b", default: 0] == 0)
        #expect(abs(result["c"]! - 0.6) < 1e-9)
    }

    @Test("below the minimum set size, or with no local instance, zones are ignored")
    func ignored() throws {
        for instances in [zoned([("a", 1), ("b", 4)]), zoned([("b", 4), ("c", 4)])] {
            let balancer = ZoneAwareBalancer(addressEndpointer(instances), localZone: "a")
            for (_, share) in try balancer.shares() {
                #expect(abs(share - 1 / Double(instances.count)) < 1e-9)
            }
        }
    }

    @Test("avoiding the only local instance moves to another zone")
    func avoidingLocal() throws {
        let instances = zoned([("a", 1), ("b", 5)])
        let balancer = ZoneAwareBalancer(
            addressEndpointer(instances), localZone: "a", callerShares: ["a": 0.1, "b": 0.9])
        #expect(try balancer.pick() == "10.0.0.1:80")
        #expect(try balancer.pick(avoiding: "10.0.0.1:80").address != "10.0.0.1:80")
    }
}
