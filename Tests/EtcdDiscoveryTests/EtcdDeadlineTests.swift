import Discovery
import EtcdDiscovery
import Synchronization
import TestSupport
import Testing

/// Every call is bounded, and a caller that gives up is not held by the connection attempt.
@Suite("etcd: deadlines and cancellation")
struct EtcdDeadlineTests {
    @Test("unary calls have a deadline by default")
    func defaultDeadline() {
        #expect(EtcdClient.Configuration(endpoints: []).requestTimeout == .seconds(10))
    }

    @Test("a call waiting for a connection to a silent server ends when its task is cancelled")
    func cancelWhileConnecting() async throws {
        let listener = try TCPListener()  // accepts, never sends SETTINGS
        defer { listener.close() }
        var configuration = EtcdClient.Configuration(endpoints: [
            HostPort(host: "127.0.0.1", port: UInt16(listener.port))
        ])
        configuration.connectTimeout = .seconds(60)
        let etcd = try EtcdClient(configuration)
        defer { etcd.close() }
        let ended = Atomic<Bool>(false)
        let call = Task {
            defer { ended.store(true, ordering: .releasing) }
            _ = try await etcd.range(prefix: Array("/services/".utf8))
        }
        // The connection is under way (accepted by the kernel) before the cancel.
        try await Task.sleep(for: .milliseconds(200))
        call.cancel()
        try await eventually(.seconds(5), "the cancelled call to end") { ended.load(ordering: .acquiring) }
        await #expect(throws: DiscoveryError.self) { try await call.value }
    }
}
