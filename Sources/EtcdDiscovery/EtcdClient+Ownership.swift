import Discovery

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EtcdClient {
    /// Who holds a key that a registration wanted.
    public enum Claim: Sendable, Equatable {
        /// The key was put under the lease (it was absent, or already ours).
        case claimed
        /// The key exists under another lease (0: none); nothing was written.
        case heldByOther(lease: Int64)
    }

    /// Puts `value` at `key` under `lease` only if the key is absent or already attached to
    /// `lease`, in one transaction each, so a live registration of someone else is never
    /// overwritten.
    public func claim(_ key: [UInt8], _ value: [UInt8], lease: Int64) async throws(DiscoveryError) -> Claim {
        var put = Etcdserverpb_RequestOp()
        put.requestPut.key = Data(key)
        put.requestPut.value = Data(value)
        put.requestPut.lease = lease
        var get = Etcdserverpb_RequestOp()
        get.requestRange.key = Data(key)

        var absent = Etcdserverpb_Compare()
        absent.key = Data(key)
        absent.target = .create
        absent.result = .equal
        absent.createRevision = 0
        let first = try await transaction(if: [absent], then: [put], else: [get])
        if first.succeeded { return .claimed }
        guard let holder = first.responses.first?.responseRange.kvs.first?.lease else {
            // Deleted between the compare and the read: try once more, as a fresh claim.
            return try await transaction(if: [absent], then: [put], else: []).succeeded
                ? .claimed : .heldByOther(lease: 0)
        }
        guard holder == lease else { return .heldByOther(lease: holder) }
        // Ours already (an answer lost with a connection): write the value under the same guard.
        var ours = Etcdserverpb_Compare()
        ours.key = Data(key)
        ours.target = .lease
        ours.result = .equal
        ours.lease = lease
        return try await transaction(if: [ours], then: [put], else: [get]).succeeded
            ? .claimed : .heldByOther(lease: 0)
    }

    /// Deletes `key` only while it is attached to `lease`; returns whether it was deleted.
    @discardableResult
    public func delete(_ key: [UInt8], ifLease lease: Int64) async throws(DiscoveryError) -> Bool {
        var ours = Etcdserverpb_Compare()
        ours.key = Data(key)
        ours.target = .lease
        ours.result = .equal
        ours.lease = lease
        var delete = Etcdserverpb_RequestOp()
        delete.requestDeleteRange.key = Data(key)
        let response = try await transaction(if: [ours], then: [delete], else: [])
        return response.succeeded && response.responses.first?.responseDeleteRange.deleted == 1
    }

    func transaction(
        if compare: [Etcdserverpb_Compare], then success: [Etcdserverpb_RequestOp],
        else failure: [Etcdserverpb_RequestOp]
    ) async throws(DiscoveryError) -> Etcdserverpb_TxnResponse {
        var request = Etcdserverpb_TxnRequest()
        request.compare = compare
        request.success = success
        request.failure = failure
        return try await unary("txn", EtcdMethod.txn, request)
    }
}
