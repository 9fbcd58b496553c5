import CZooKeeper
import Discovery
import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import ZooKeeperDiscovery

/// Ownership of the retains handed to the C client, checked against a real server. The
/// failures these guard against are use-after-frees: run them under AddressSanitizer too
/// (Tests/sanitizers.sh).
extension ZooKeeperTests {
    /// A client whose session the server has refused credentials for (an unknown scheme), so
    /// every request is refused before it is sent.
    func refusedClient(_ servers: ZooKeeperServers) async throws -> ZooKeeperClient {
        let client = try ZooKeeperClient(
            .init(connectString: servers.connectString, sessionTimeout: .seconds(4)))
        try await client.waitUntilConnected(timeout: .seconds(10))
        let refused = Atomic<Bool>(false)
        let token = client.onSessionEvent { event in
            if event == .authenticationFailed { refused.store(true, ordering: .releasing) }
        }
        defer { token.cancel() }
        client.addAuthentication(scheme: "no-such-scheme", "x")
        try await eventually(.seconds(10), "the server to refuse the credentials") {
            refused.load(ordering: .acquiring)
        }
        return client
    }

    @Test("watches on requests never sent are not released twice")
    func unsentWatchRequests() async throws {
        try await ZooKeeperServers.with { servers in
            let client = try await refusedClient(servers)
            defer { client.close() }
            for _ in 0..<200 {
                await #expect {
                    _ = try await client.children("/services", onChange: {})
                } throws: { error in
                    (error as? DiscoveryError)?.zooKeeperError != nil
                }
                let code = await withCheckedContinuation {
                    (continuation: CheckedContinuation<Int32, Never>) in
                    client.requestChildren(
                        "/services", onChange: {}, completion: { rc, _ in continuation.resume(returning: rc) }
                    )
                }
                #expect(code == ZAUTHFAILED.rawValue)
            }
            #expect(client.pendingWatchCount == 0)
        }
    }

    @Test("a client whose last reference is dropped by a completion closes off the completion thread")
    func lastReferenceInCompletion() async throws {
        try await ZooKeeperServers.with { servers in
            let observer = try ZooKeeperClient(.init(connectString: servers.connectString))
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            try await observer.createParents("/services/web")
            for round in 0..<20 {
                let node = "/services/web/held-\(round)"
                let done = Atomic<Bool>(false)
                do {
                    let client = try ZooKeeperClient(.init(connectString: servers.connectString))
                    try await client.waitUntilConnected(timeout: .seconds(10))
                    _ = try await client.create(node, data: Array("10.0.0.1:80".utf8), mode: .ephemeral)
                    // The completion holds the only strong reference once this scope ends.
                    client.requestChildren(
                        "/services/web", onChange: {},
                        completion: { [client] _, _ in
                            _ = client
                            done.store(true, ordering: .releasing)
                        })
                }
                try await eventually(.seconds(10), "the completion") { done.load(ordering: .acquiring) }
                // The handle was closed, so its ephemeral node goes.
                try await eventually(.seconds(10), "\(node) to go") { try await !observer.exists(node) }
            }
        }
    }

    /// A caller may close the client inside one of its callbacks, on the library's completion
    /// thread (sdctl's instancer wrapper does when its last reference goes there). If the
    /// session queue is busy at that moment (closing an expired handle joins that very thread),
    /// waiting for it there never ends: close() must hand the work to a thread of its own, as
    /// the client's deinit does.
    @Test(
        "close() on the library's completion thread returns at once while the session queue is busy, and still closes"
    )
    func closeInCompletion() async throws {
        try await ZooKeeperServers.with { servers in
            let observer = try ZooKeeperClient(.init(connectString: servers.connectString))
            defer { observer.close() }
            try await observer.waitUntilConnected(timeout: .seconds(10))
            try await observer.createParents("/services/web")
            let node = "/services/web/closed-in-completion"
            let client = try ZooKeeperClient(.init(connectString: servers.connectString))
            try await client.waitUntilConnected(timeout: .seconds(10))
            _ = try await client.create(node, data: Array("10.0.0.1:80".utf8), mode: .ephemeral)
            let queueFree = DispatchSemaphore(value: 0)
            client.queue.async { queueFree.wait() }
            var freed = false
            defer { if !freed { queueFree.signal() } }
            let returned = Atomic<Bool>(false)
            client.requestChildren(
                "/services/web", onChange: nil,
                completion: { _, _ in
                    client.close()
                    returned.store(true, ordering: .releasing)
                })
            try await eventually(.seconds(10), "the completion that closed the client to return") {
                returned.load(ordering: .acquiring)
            }
            #expect(!client.isConnected)
            queueFree.signal()
            freed = true
            // The handle is closed once the queue is free, so its ephemeral node goes.
            try await eventually(.seconds(10), "\(node) to go") { try await !observer.exists(node) }
        }
    }
}

extension ZooKeeperTests {
    @Test("a child whose data cannot be read is retried without arming another watch each time")
    func unreadableChildArmsOneWatch() async throws {
        try await ZooKeeperServers.with { servers in
            let log = RecordingLogHandler.Messages()
            let zk = try ZooKeeperClient(.init(connectString: servers.connectString))
            try await zk.waitUntilConnected(timeout: .seconds(10))
            try await zk.createParents("/services/web")
            // Readable by one address only, which is not ours: every data read is refused (NOAUTH).
            _ = try await servers.zkCli([
                "create", "/services/web/secret", "10.0.0.1:80", "ip:10.9.9.9:cdrwa",
            ])
            let instancer = ZooKeeperInstancer(
                client: zk, path: "/services/web", logger: RecordingLogHandler.logger(log))
            defer { instancer.stop() }
            try await eventually(.seconds(10), "four failed listings") {
                log.all.filter { $0.contains("listing failed") }.count >= 4
            }
            #expect(zk.pendingWatchCount == 1, "one children watch, however many retries")
        }
    }
}
