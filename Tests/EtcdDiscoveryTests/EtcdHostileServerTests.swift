import Discovery
import Foundation
import NIOConcurrencyHelpers
import SwiftProtobuf
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

    @Test("a server that ignores the range's limit and sends more keys is refused before they are decoded")
    func rangePastTheLimit() async throws {
        let requestedLimit = NIOLockedValueBox<Int64?>(nil)
        let server = try await FakeGRPCServer { _, request in
            requestedLimit.withLockedValue {
                $0 = (try? Etcdserverpb_RangeRequest(serializedBytes: request))?.limit
            }
            var answer = Etcdserverpb_RangeResponse()
            answer.header.revision = 5
            answer.kvs = (1...4).map { index in
                var kv = Etcdserverpb_KeyValue()
                kv.key = Data("/services/web/\(index)".utf8)
                kv.value = Data("10.0.0.\(index):80".utf8)
                return kv
            }
            return .init(messages: [try! answer.serializedBytes()])
        }
        defer { server.stop() }
        var configuration = EtcdClient.Configuration(endpoints: [
            HostPort(host: "127.0.0.1", port: UInt16(server.port))
        ])
        configuration.maximumInstances = 2
        let etcd = try EtcdClient(configuration)
        defer { etcd.close() }
        let error = await #expect(throws: DiscoveryError.self) {
            _ = try await etcd.range(prefix: Array("/services/web/".utf8))
        }
        #expect(requestedLimit.withLockedValue { $0 } == 3)
        #expect(error?.code == .invalidResponse)
        #expect(error?.cause as? InstanceLimitExceeded == InstanceLimitExceeded(limit: 2))
        #expect(error?.message == "etcd: range of '/services/web/': more than 2 instances in one answer")
    }

    @Test("the count of keys on the wire stops at its cap and at bytes that are not protobuf")
    func countingKeysOnTheWire() throws {
        var answer = Etcdserverpb_RangeResponse()
        answer.header.revision = 9
        answer.more = true
        answer.count = 5
        answer.kvs = (1...5).map { index in
            var kv = Etcdserverpb_KeyValue()
            kv.key = Data("k\(index)".utf8)
            kv.createRevision = 300
            return kv
        }
        let bytes: [UInt8] = try answer.serializedBytes()
        func count(_ bytes: [UInt8], upTo cap: Int) -> Int {
            bytes.withUnsafeBytes { RangeResponseWire.countKeyValues($0, upTo: cap) }
        }
        #expect(count(bytes, upTo: 100) == 5)
        #expect(count(bytes, upTo: 3) == 3)
        #expect(count([], upTo: 3) == 0)
        // Cut anywhere, the count is never more than what was whole, and nothing reads past the end.
        for end in 0..<bytes.count { #expect(count(Array(bytes[..<end]), upTo: 100) <= 5) }
        // A length past the end, an endless varint, a group wire type.
        #expect(count([0x12, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2], upTo: 10) == 0)
        #expect(count([0x08] + [UInt8](repeating: 0xFF, count: 20), upTo: 10) == 0)
        #expect(count([0x13, 0x14], upTo: 10) == 0)
    }
}
