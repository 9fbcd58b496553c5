import Discovery
import Foundation
import TestSupport
import Testing

@testable import EtcdDiscovery

/// A gRPC server (Tests/TestSupport/FakeGRPCServer) that answers what a real etcd would not on
/// demand.
@Suite("etcd: a server that answers badly")
struct EtcdHostileServerTests {
    static func client(_ server: FakeGRPCServer) throws -> EtcdClient {
        try EtcdClient(.init(endpoints: [HostPort(host: "127.0.0.1", port: UInt16(server.port))]))
    }

    static func rangeAnswer(revision: Int64) throws -> [UInt8] {
        var answer = Etcdserverpb_RangeResponse()
        answer.header.revision = revision
        return try answer.serializedBytes()
    }

    @Test("a server that answers every watch with 'compacted' gets Ranges after a growing delay, not a loop")
    func compactedForever() async throws {
        let server = try await FakeGRPCServer { path, _ in
            switch path {
            case EtcdMethod.range:
                return .init(messages: [try! Self.rangeAnswer(revision: 5)])
            default:
                var watch = Etcdserverpb_WatchResponse()
                watch.created = true
                watch.compactRevision = 4
                return .init(messages: [try! watch.serializedBytes()], status: nil)
            }
        }
        defer { server.stop() }
        let etcd = try Self.client(server)
        defer { etcd.close() }
        let instancer = EtcdInstancer(client: etcd, prefix: "/services/web/")
        defer { instancer.stop() }
        try await instancer.subscribe().set([], within: .seconds(10))
        try await Task.sleep(for: .seconds(3))  // the rate is what is measured
        let ranges = server.requestCounts[EtcdMethod.range] ?? 0
        print("etcd figure: a server answering every watch 'compacted': \(ranges) Ranges in 3 s")
        // 0.1, 0.2, 0.4, 0.8, 1.6 s (each jittered): a handful, where the loop made thousands.
        #expect(ranges >= 2 && ranges <= 12, "\(ranges)")
    }

    @Test("an answer whose content type is not gRPC is an error that says so, not a decoded message")
    func notGRPC() async throws {
        let server = try await FakeGRPCServer { _, _ in
            .init(messages: [try! Self.rangeAnswer(revision: 5)], contentType: "text/html; charset=utf-8")
        }
        defer { server.stop() }
        let etcd = try Self.client(server)
        defer { etcd.close() }
        let error = await #expect(throws: DiscoveryError.self) {
            _ = try await etcd.range(prefix: Array("/services/web/".utf8))
        }
        #expect(
            error?.message.contains("content-type 'text/html; charset=utf-8', not gRPC") == true,
            "\(String(describing: error))")
    }
}
