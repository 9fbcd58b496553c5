import Discovery
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A key and value read from etcd, with its revisions and lease.
public struct EtcdKeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var modRevision: Int64
    public var lease: Int64

    init(_ kv: Etcdserverpb_KeyValue) {
        key = Array(kv.key)
        value = Array(kv.value)
        modRevision = kv.modRevision
        lease = kv.lease
    }
}

extension EtcdClient {
    /// The end of the range of every key that starts with `prefix`: the prefix with its last
    /// byte incremented (carrying over 0xFF); `[0]` means "to the end of the key space".
    public static func rangeEnd(forPrefix prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    /// Every key under `prefix`, and the store revision the answer reflects. More than
    /// ``Configuration/maximumInstances`` keys is `DiscoveryError/Code/invalidResponse` with
    /// `InstanceLimitExceeded` as its cause, found before the answer is decoded.
    public func range(prefix: [UInt8]) async throws(DiscoveryError) -> (kvs: [EtcdKeyValue], revision: Int64)
    {
        let limit = max(0, configuration.maximumInstances)
        // One more than allowed, so that an answer at the limit is told from one past it.
        let asked = limit < Int.max ? limit + 1 : limit
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(prefix)
        request.rangeEnd = Data(Self.rangeEnd(forPrefix: prefix))
        request.limit = Int64(asked)
        let what = "range of '\(String(decoding: prefix, as: UTF8.self))'"
        let response = try await unary(
            "range", EtcdMethod.range, request, as: Etcdserverpb_RangeResponse.self
        ) { answer throws(DiscoveryError) in
            let count = answer.withUnsafeReadableBytes { RangeResponseWire.countKeyValues($0, upTo: asked) }
            if count > limit { throw Self.tooManyKeys(what, limit: limit) }
        }
        return (response.kvs.map(EtcdKeyValue.init), response.header.revision)
    }

    private static func tooManyKeys(_ what: String, limit: Int) -> DiscoveryError {
        let cause = InstanceLimitExceeded(limit: limit)
        return DiscoveryError(.invalidResponse, "etcd: \(what): \(cause)", cause: cause)
    }

    /// Puts `value` at `key`, attached to `lease` when it is not 0; returns the new revision.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) async throws(DiscoveryError) -> Int64
    {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key)
        request.value = Data(value)
        request.lease = lease
        let response = try await unary("put", EtcdMethod.put, request, as: Etcdserverpb_PutResponse.self)
        return response.header.revision
    }

    /// Deletes `key`; returns how many keys were deleted (0 or 1).
    @discardableResult
    public func delete(_ key: [UInt8]) async throws(DiscoveryError) -> Int64 {
        var request = Etcdserverpb_DeleteRangeRequest()
        request.key = Data(key)
        let response = try await unary(
            "delete", EtcdMethod.deleteRange, request, as: Etcdserverpb_DeleteRangeResponse.self)
        return response.deleted
    }

    /// Compacts the store's history up to `revision` (for tests and maintenance).
    public func compact(revision: Int64) async throws(DiscoveryError) {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = true
        _ = try await unary("compact", EtcdMethod.compact, request, as: Etcdserverpb_CompactionResponse.self)
    }
}
