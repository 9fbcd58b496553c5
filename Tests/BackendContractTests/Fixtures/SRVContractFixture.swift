import DNSDiscovery
import Discovery
import Logging
import TestSupport

/// DNS SRV, read-only: a real Knot server with the tests' zone; the service is
/// `_x._tcp.example.test`, whose records are fixed. It is asked every second (its TTL says a
/// minute), so that a failure shows within the test.
struct SRVContractFixture: InstancerFixture {
    let knot: KnotServer

    func makeInstancer() throws -> any Instancer {
        let client = DNSClient(
            configuration: DNSResolverConfiguration(
                servers: [try HostPort(parsing: knot.address)], timeout: .seconds(1), attempts: 2))
        return SRVInstancer(
            client: client,
            configuration: .init(
                name: "_x._tcp.example.test", maximumInterval: .seconds(1), queryTimeout: .seconds(2)))
    }

    func seed() async throws -> [String] {
        ["a.example.test:8080", "b.example.test:8081", "c.other.test:8082"]
    }

    func breakBackend() async throws {
        knot.stop()
    }
}

extension ContractBackend {
    static let srv = ContractBackend(name: "DNS SRV") { body in
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            try await body(SRVContractFixture(knot: knot))
        }
    }
}
