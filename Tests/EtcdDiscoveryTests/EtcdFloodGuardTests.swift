import Discovery
import NIOCore
import TestSupport
import Testing

@testable import EtcdDiscovery

/// The handler's PING flood guard (issue #24, item 5) against what a real etcd sends: grpc-go
/// pings to size its windows as requests arrive, so a busy client sees many PINGs.
@Suite("etcd: the flood guard and a real server", .serialized)
struct EtcdFloodGuardTests {
    @Test("20,000 calls from 32 tasks on one connection: none fails, the guard never trips")
    func busyClient() async throws {
        try await EtcdServers.with { servers in
            let endpoints = try servers.members.map { try HostPort(parsing: $0.endpoint) }
            let etcd = try EtcdClient(.init(endpoints: endpoints))
            defer { etcd.close() }
            _ = try await etcd.put(Array("/flood/a".utf8), Array("10.0.0.1:80".utf8))
            let first = try await etcd.channel.connection()
            let calls = 20_000
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<32 {
                    group.addTask {
                        for _ in stride(from: task, to: calls, by: 32) {
                            _ = try await etcd.range(prefix: Array("/flood/".utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let connection = try await etcd.channel.connection()
            #expect(connection === first, "the connection was replaced: something closed it")
            let pings = try await connection.channel.eventLoop.submit {
                try connection.channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self)
                    .receivedPings
            }.get()
            // docs/etcd.md quotes this line.
            print("flood guard: \(calls) calls in \(elapsed), \(pings) PINGs from etcd")
            #expect(pings <= 2 * calls + GRPCConnectionHandler.controlFrameBudget)
        }
    }
}
