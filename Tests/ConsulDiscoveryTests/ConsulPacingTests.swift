import ConsulDiscovery
import Discovery
import Foundation
import TestSupport
import Testing

/// The request loop cannot spin: counted requests against an unchanged service, a server that
/// answers at once with a constant index, a failing agent and an agent that is not there. The
/// counts are printed: they are the figures of docs/consul.md.
@Suite("Consul: the watch loop's request rate")
struct ConsulPacingTests {
    @Test("an unchanged service costs one request per wait period")
    func unchangedService() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try ConsulEmulatorTests.client(emulator)
            defer { client.close() }
            try await ConsulEmulatorTests.register(client, "a", port: 1)
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web"),
                configuration: .init(wait: .seconds(1)))
            try await instancer.subscribe().set(["127.0.0.1:1"])
            // Count over a measured window that starts once the first answer is in: on a loaded
            // machine reaching that point, and the sleep itself, can take seconds longer.
            let clock = ContinuousClock()
            let first = try await emulator.requestCounts()["GET /v1/health/service/web"] ?? 0
            let started = clock.now
            try await Task.sleep(for: .seconds(4))
            let requests = (try await emulator.requestCounts()["GET /v1/health/service/web"] ?? 0) - first
            let elapsed = (clock.now - started) / .seconds(1)
            instancer.stop()
            print(
                "consul figure: unchanged service, wait 1s: \(requests) requests in \(String(format: "%.1f", elapsed)) s"
            )
            // One per wait: 1 s plus the agent's jitter of up to 1/16, and one more for the
            // request in flight at each end of the window; below, one more again for a machine
            // that stalls (CI saw 2 in 4.3 s with every suite on two cores).
            #expect(
                Double(requests) >= (elapsed / 1.0625).rounded(.down) - 2
                    && Double(requests) <= elapsed.rounded(.up) + 1,
                "\(requests) in \(elapsed) s")
        }
    }

    @Test("a server answering at once with a constant index is not hammered")
    func constantIndex() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try ConsulEmulatorTests.client(emulator)
            defer { client.close() }
            try await emulator.faults(#"{"constant_index": 7}"#)
            let instancer = ConsulInstancer(client: client, query: ConsulHealthQuery(service: "web"))
            try await instancer.subscribe().set([])
            try await Task.sleep(for: .seconds(3))
            instancer.stop()
            let requests = try await emulator.requestCounts()["GET /v1/health/service/web"] ?? 0
            print("consul figure: constant index answered at once: \(requests) requests in 3 s")
            // 0.1, 0.2, 0.4, 0.8, then at most one a second (each jittered down by at most half).
            #expect(requests >= 3 && requests <= 12, "\(requests)")
        }
    }

    @Test("a failing agent: failures are events and requests back off to one every few seconds")
    func failingAgent() async throws {
        try await ConsulEmulator.with { emulator in
            let client = try ConsulEmulatorTests.client(emulator)
            defer { client.close() }
            try await emulator.faults(#"{"fail_status": 500, "fail_count": -1}"#)
            let log = RecordingLogHandler.Messages()
            let instancer = ConsulInstancer(
                client: client, query: ConsulHealthQuery(service: "web"),
                logger: RecordingLogHandler.logger(log))
            let event = try await instancer.subscribe().first { $0.failure != nil }
            #expect(event.failure?.code == .unavailable && event.failure?.message.contains("500") == true)
            // Waits for the backoff to reach a few seconds rather than counting what fits in a
            // fixed time: under AddressSanitizer only five delays fitted in 8 s, the last of them
            // (3.2 s jittered down) under 2.5 s. The delays double from 0.1 s to the 5 s cap, each
            // jittered down by at most half, so one of 2.5 s or more comes within about 11 s.
            let started = ContinuousClock.now
            try await eventually(.seconds(40), "a delay of 2.5 s or more") {
                log.delays(of: "query failed").contains { $0 >= 2.5 }
            }
            instancer.stop()
            let requests = try await emulator.requestCounts()["GET /v1/health/service/web"] ?? 0
            let delays = log.delays(of: "query failed")
            print(
                "consul figure: agent answering 500: \(requests) requests in \(ContinuousClock.now - started); delays \(delays)"
            )
            // One request per delay (and the one before the first): no request outside the backoff.
            #expect(delays.count >= 4 && requests <= delays.count + 2, "\(requests) requests, \(delays)")
            #expect(delays.allSatisfy { $0 <= 5 }, "\(delays)")
        }
    }

    @Test("an agent that is down: error events, delays growing to a few seconds")
    func agentDown() async throws {
        let port = try FreePorts.take(1)[0]
        let client = try ConsulClient(
            ConsulClient.Configuration(environment: ["CONSUL_HTTP_ADDR": "127.0.0.1:\(port)"]))
        defer { client.close() }
        let log = RecordingLogHandler.Messages()
        let instancer = ConsulInstancer(
            client: client, query: ConsulHealthQuery(service: "web"), logger: RecordingLogHandler.logger(log))
        defer { instancer.stop() }
        // A refused connection fails at once; the bound allows for a loaded machine.
        let event = try await instancer.subscribe().first(within: .seconds(20)) { $0.failure != nil }
        #expect(event.failure?.code == .unavailable)
        #expect(event.failure?.message.contains("127.0.0.1:\(port)") == true)
        do {
            try await eventually(.seconds(15), "a retry delay over 2.5 s") {
                log.delays(of: "query failed").contains { $0 >= 2.5 }
            }
        } catch {
            print(log.all.joined(separator: "\n"))
            throw error
        }
        let delays = log.delays(of: "query failed")
        print(
            "consul figure: agent down: \(delays.count) requests until a delay of 2.5 s or more; delays \(delays)"
        )
        #expect(delays.count <= 7, "\(delays)")
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $1 >= $0 / 2 }, "growing: \(delays)")
    }
}
