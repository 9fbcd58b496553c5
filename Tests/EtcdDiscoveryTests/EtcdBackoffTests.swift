import Discovery
import EtcdDiscovery
import TestSupport
import Testing

/// Retry delays during an outage: they grow to a cap with jitter and reset on success. Read
/// from the `delay` the loops log with each retry.
extension EtcdTests {
    @Test("an instancer's watch retries back off during an outage instead of retrying every 100 ms")
    func instancerBacksOff() async throws {
        try await EtcdServers.with { servers in
            let etcd = try client(servers)
            defer { etcd.close() }
            let log = RecordingLogHandler.Messages()
            let instancer = EtcdInstancer(
                client: etcd, prefix: "/services/web/", logger: RecordingLogHandler.logger(log))
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([], within: .seconds(10))
            servers.stop(member: "m1")
            // 0.1, 0.2, 0.4, 0.8 s (each jittered down by at most half): the fourth is over 0.4 s.
            try await eventually(.seconds(15), "a retry delay over 0.4 s") {
                log.delays(of: "watch failed").contains { $0 > 0.4 }
            }
            let delays = log.delays(of: "watch failed")
            #expect(delays.allSatisfy { $0 <= 10 })
            try await servers.restart(member: "m1")
            try await servers.etcdctl(["put", "/services/web/a", "10.0.0.1:80"])
            try await subscription.set(["10.0.0.1:80"], within: .seconds(30))
        }
    }

    @Test(
        "a registrar's keepalive retries stay under a third of the TTL and reset once a keepalive gets through"
    )
    func keepaliveBackoffResets() async throws {
        try await EtcdServers.with { servers in
            let etcd = try client(servers)
            defer { etcd.close() }
            let log = RecordingLogHandler.Messages()
            let registrar = try EtcdRegistrar(
                client: etcd, prefix: "/services/web/", instance: Instance(address: "10.0.0.2:80", id: "a"),
                ttl: .seconds(3), logger: RecordingLogHandler.logger(log))
            try await registrar.register()
            for _ in 0..<2 {
                let before = log.delays(of: "keepalive interrupted").count
                servers.stop(member: "m1")
                try await eventually(.seconds(20), "five keepalive retries") {
                    log.delays(of: "keepalive interrupted").count >= before + 5
                }
                let outage = log.delays(of: "keepalive interrupted").dropFirst(before)
                #expect(outage.first! <= 0.1, "each outage starts from the initial delay: \(outage)")
                #expect(outage.allSatisfy { $0 <= 1.0 }, "capped at TTL/3: \(outage)")
                try await servers.restart(member: "m1")
                // The registration is there again (restored if the lease ran out) and kept alive.
                let deadline = ContinuousClock.now + .seconds(20)
                while try await servers.etcdctl(["get", "/services/web/a", "--print-value-only"])
                    .trimmingWhitespace()
                    != "10.0.0.2:80"
                {
                    guard ContinuousClock.now < deadline else { throw DeadlineExceeded(what: "the key back") }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let renewals = log.all.filter { $0.contains("lease renewed") }.count
                try await eventually(.seconds(10), "a keepalive through") {
                    log.all.filter { $0.contains("lease renewed") }.count > renewals
                }
            }
            try await registrar.deregister()
        }
    }
}
