import Discovery
import NIOCore
import SwiftProtobuf

extension EtcdClient {
    /// Grants a lease of `ttl` (etcd raises it to its minimum); returns its id and granted TTL.
    public func grantLease(ttl: Duration) async throws(DiscoveryError) -> (id: Int64, ttl: Int64) {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = max(1, ttl.components.seconds)
        let response = try await unary(
            "lease grant", EtcdMethod.leaseGrant, request, as: Etcdserverpb_LeaseGrantResponse.self)
        guard response.error.isEmpty else {
            throw DiscoveryError(.invalidResponse, "etcd: lease grant: \(response.error)")
        }
        return (response.id, response.ttl)
    }

    /// Revokes a lease: every key attached to it goes.
    public func revokeLease(_ id: Int64) async throws(DiscoveryError) {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        _ = try await unary(
            "lease revoke", EtcdMethod.leaseRevoke, request, as: Etcdserverpb_LeaseRevokeResponse.self)
    }

    /// Keeps a lease alive on one stream, sending a keepalive every `interval`, until the task
    /// is cancelled (returns) or the lease is gone (throws `DiscoveryError/Code/notFound`:
    /// the server answered TTL 0) or the stream fails (throws `unavailable`). `onRenewed` is
    /// called for every answer that renewed the lease.
    public func keepAlive(
        lease id: Int64, every interval: Duration, onRenewed: @escaping @Sendable () -> Void = {}
    ) async throws(DiscoveryError) {
        var request = Etcdserverpb_LeaseKeepAliveRequest()
        request.id = id
        do {
            try await streaming("lease keepalive", EtcdMethod.leaseKeepAlive, first: request) {
                stream, allocator in
                // The first keepalive went with the stream's headers; the rest follow on a timer.
                let again = GRPCMessageWriter.frame(try request.serializedBytes(), allocator: allocator)
                let sender = Task {
                    while (try? await Task.sleep(for: interval)) != nil { stream.send(again) }
                }
                defer { sender.cancel() }
                for try await answer in stream.responses {
                    let message = try Self.decode(
                        answer, "lease keepalive", as: Etcdserverpb_LeaseKeepAliveResponse.self)
                    guard message.ttl > 0 else {
                        throw DiscoveryError(.notFound, "etcd: lease \(id) is gone")
                    }
                    onRenewed()
                }
                if !Task.isCancelled {
                    throw GRPCError(.unavailable, "keepalive stream ended")
                }
            }
        } catch  where error.code == .unavailable && Task.isCancelled {
            return
        }
    }
}
