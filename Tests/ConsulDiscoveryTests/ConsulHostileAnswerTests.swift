import ConsulDiscovery
import Discovery
import Foundation
import TestSupport
import Testing

/// Answers the agent should not give, served as they are by the emulator's `raw_body` switch.
@Suite("Consul: answers that are partly wrong")
struct ConsulHostileAnswerTests {
    static func entryJSON(_ id: String, port: String) -> String {
        """
        {"Node": {"Node": "n", "Address": "127.0.0.1", "Datacenter": "dc1"},
         "Service": {"ID": "\(id)", "Service": "web", "Address": "127.0.0.1", "Port": \(port)},
         "Checks": []}
        """
    }

    @Test("one entry with a port that is not a port is skipped (said at debug); the others are kept")
    func badEntryIsSkipped() async throws {
        try await ConsulEmulator.with { emulator in
            let bad = [#""abc""#, "80.5", "1e20", "null", "{}", "[]"]
            let entries =
                [Self.entryJSON("good-1", port: "1")]
                + bad.enumerated().map { Self.entryJSON("bad-\($0.offset)", port: $0.element) }
                + [#"{"Node": 5, "Service": "x"}"#, Self.entryJSON("good-2", port: "2")]
            let body = "[\(entries.joined(separator: ","))]"
            let escaped = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
            try await emulator.faults(#"{"raw_body": \#(escaped), "raw_on": "GET /v1/health/service/web"}"#)
            let log = RecordingLogHandler.Messages()
            let client = try ConsulClient(
                ConsulClient.Configuration(environment: ["CONSUL_HTTP_ADDR": emulator.httpAddress]),
                logger: RecordingLogHandler.logger(log))
            defer { client.close() }
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web", passingOnly: false))
            defer { instancer.stop() }
            try await instancer.subscribe().set(["127.0.0.1:1", "127.0.0.1:2"])
            // Seven bad entries; a `null` port reads as no port, so that one decodes and is
            // dropped later as an instance without a port.
            #expect(
                log.all.contains {
                    $0.contains("undecodable entries of 'web' skipped") && $0.contains("skipped=6")
                }, "\(log.all)")
        }
    }

    @Test("an answer of more entries than maximumInstances is refused, saying so; one at the limit is taken")
    func instanceLimit() async throws {
        try await ConsulEmulator.with { emulator in
            let entries = (1...3).map { Self.entryJSON("e-\($0)", port: "\($0)") }
            let body = "[\(entries.joined(separator: ","))]"
            let escaped = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
            try await emulator.faults(#"{"raw_body": \#(escaped), "raw_on": "GET /v1/health/service/web"}"#)
            var configuration = try ConsulClient.Configuration(environment: [
                "CONSUL_HTTP_ADDR": emulator.httpAddress
            ])
            configuration.maximumInstances = 2
            let limited = try ConsulClient(configuration)
            defer { limited.close() }
            let query = ConsulHealthQuery(service: "web", passingOnly: false)
            let error = await #expect(throws: DiscoveryError.self) { try await limited.health(query) }
            #expect(error?.code == .invalidResponse)
            #expect(error?.cause as? InstanceLimitExceeded == InstanceLimitExceeded(limit: 2))
            #expect(error?.message == "consul: health of 'web': more than 2 instances in one answer")
            configuration.maximumInstances = 3
            let enough = try ConsulClient(configuration)
            defer { enough.close() }
            #expect(try await enough.health(query).entries.map(\.serviceID) == ["e-1", "e-2", "e-3"])
        }
    }
}
