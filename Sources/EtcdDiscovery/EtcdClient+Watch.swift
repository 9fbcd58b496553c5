import Discovery
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension EtcdClient {
    /// What a watch stream delivers.
    public enum WatchEvent: Sendable {
        /// The server created the watch: it is live from here on.
        case created
        /// Puts and deletes, in revision order, up to `revision`.
        case changes([(kind: ChangeKind, kv: EtcdKeyValue)], revision: Int64)
        /// The history was compacted past the start revision: read everything again from a
        /// full range and watch from there.
        case compacted(revision: Int64)
    }

    public enum ChangeKind: Sendable {
        case put, delete
    }

    /// Watches every key under `prefix` from `startRevision` (inclusive), calling `handle` for
    /// each response until it returns `false`, the stream fails, or the task is cancelled.
    /// Each watch is its own gRPC stream: cancelling one never touches another. After
    /// ``WatchEvent/compacted(revision:)`` the watch ends (without an error).
    public func watch(
        prefix: [UInt8], startRevision: Int64, _ handle: @escaping @Sendable (WatchEvent) async -> Bool
    ) async throws(DiscoveryError) {
        let request = Self.watchRequest(prefix: prefix, startRevision: startRevision)
        try await streaming("watch", EtcdMethod.watch, first: request) { stream, _ in
            // The request side stays open for as long as we watch: etcd ends a watch stream
            // whose client half-closed.
            for try await answer in stream.responses {
                let event = try Self.watchEvent(answer)
                if !(await handle(event)) { return }
                if case .compacted = event { return }
            }
            throw GRPCError(.unavailable, "watch stream ended")
        }
    }

    /// The same watch, with `handle` called on the connection's event loop as each answer is
    /// read, without a task switch: for handlers that only update state under a lock (as
    /// ``EtcdInstancer`` does), this takes one scheduling step out of every change's way to
    /// the subscribers (docs/etcd.md). `handle` must not block.
    public func watch(
        prefix: [UInt8], startRevision: Int64, onEventLoop handle: @escaping @Sendable (WatchEvent) -> Bool
    ) async throws(DiscoveryError) {
        let bytes = try Self.encode(Self.watchRequest(prefix: prefix, startRevision: startRevision), "watch")
        try await withToken("watch", requireLeader: true) { connection, metadata in
            let stopped = try await connection.stream(
                path: EtcdMethod.watch, metadata: metadata,
                first: GRPCMessageWriter.frame(bytes, allocator: connection.channel.allocator)
            ) { answer in
                let event = try Self.watchEvent(answer)
                if case .compacted = event {
                    _ = handle(event)
                    return false
                }
                return handle(event)
            }
            if !stopped { throw GRPCError(.unavailable, "watch stream ended") }
        }
    }

    static func watchRequest(prefix: [UInt8], startRevision: Int64) -> Etcdserverpb_WatchRequest {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(prefix)
        create.rangeEnd = Data(rangeEnd(forPrefix: prefix))
        create.startRevision = startRevision
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        return request
    }

    /// One answer of a watch stream as an event; a cancelled watch is an error.
    static func watchEvent(_ answer: ByteBuffer) throws -> WatchEvent {
        let message = try decode(answer, "watch", as: Etcdserverpb_WatchResponse.self)
        if message.compactRevision != 0 {
            return .compacted(revision: message.compactRevision)
        }
        if message.canceled {
            // etcd refuses a stale token on Watch not with a status but with a watch created and
            // cancelled at once: read that as the status, so the token is renewed and the watch
            // made again (clientv3 does the same).
            let stale = isStaleTokenReason(message.cancelReason)
            throw GRPCError(stale ? .unauthenticated : .aborted, "watch canceled: \(message.cancelReason)")
        }
        if message.created && message.events.isEmpty {
            return .created
        }
        let changes = message.events.map { event in
            (kind: event.type == .delete ? ChangeKind.delete : ChangeKind.put, kv: EtcdKeyValue(event.kv))
        }
        return .changes(changes, revision: message.header.revision)
    }
}
