import Discovery

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
    /// Each watch is its own gRPC stream: cancelling one never touches another.
    public func watch(
        prefix: [UInt8], startRevision: Int64, _ handle: @escaping @Sendable (WatchEvent) async -> Bool
    ) async throws(DiscoveryError) {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = Data(prefix)
        create.rangeEnd = Data(Self.rangeEnd(forPrefix: prefix))
        create.startRevision = startRevision
        var message = Etcdserverpb_WatchRequest()
        message.createRequest = create
        try await streaming("watch", EtcdMethod.watch, first: message) { stream, _ in
            // The request side stays open for as long as we watch: etcd ends a watch stream
            // whose client half-closed.
            for try await answer in stream.responses {
                let message = try Self.decode(answer, "watch", as: Etcdserverpb_WatchResponse.self)
                if message.compactRevision != 0 {
                    _ = await handle(.compacted(revision: message.compactRevision))
                    return
                }
                if message.canceled {
                    throw GRPCError(.aborted, "watch canceled: \(message.cancelReason)")
                }
                if message.created && message.events.isEmpty {
                    if !(await handle(.created)) { return }
                    continue
                }
                let changes = message.events.map { event in
                    (
                        kind: event.type == .delete ? ChangeKind.delete : ChangeKind.put,
                        kv: EtcdKeyValue(event.kv)
                    )
                }
                if !(await handle(.changes(changes, revision: message.header.revision))) { return }
            }
            throw GRPCError(.unavailable, "watch stream ended")
        }
    }
}
