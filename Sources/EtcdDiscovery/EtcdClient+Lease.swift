import Discovery
import GRPCCore

extension EtcdClient {
    /// Grants a lease of `ttl` (etcd raises it to its minimum); returns its id and granted TTL.
    public func grantLease(ttl: Duration) async throws(DiscoveryError) -> (id: Int64, ttl: Int64) {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = max(1, ttl.components.seconds)
        let lease = Etcdserverpb_Lease.Client(wrapping: grpc)
        let options = unaryOptions
        let response = try await call("lease grant") { metadata in
            try await lease.leaseGrant(request, metadata: metadata, options: options)
        }
        guard response.error.isEmpty else {
            throw DiscoveryError(.invalidResponse, "etcd: lease grant: \(response.error)")
        }
        return (response.id, response.ttl)
    }

    /// Revokes a lease: every key attached to it goes.
    public func revokeLease(_ id: Int64) async throws(DiscoveryError) {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        let lease = Etcdserverpb_Lease.Client(wrapping: grpc)
        let options = unaryOptions
        _ = try await call("lease revoke") { metadata in
            try await lease.leaseRevoke(request, metadata: metadata, options: options)
        }
    }

    /// Keeps a lease alive on one stream, sending a keepalive every `interval`, until the task
    /// is cancelled (returns) or the lease is gone (throws ``DiscoveryError/Code/notFound``:
    /// the server answered TTL 0) or the stream fails (throws `unavailable`). `onRenewed` is
    /// called for every answer that renewed the lease.
    public func keepAlive(
        lease id: Int64, every interval: Duration, onRenewed: @escaping @Sendable () -> Void = {}
    ) async throws(DiscoveryError) {
        var message = Etcdserverpb_LeaseKeepAliveRequest()
        message.id = id
        let request = message
        let lease = Etcdserverpb_Lease.Client(wrapping: grpc)
        let (done, finish) = AsyncStream<Void>.makeStream()
        do {
            _ = try await call("lease keepalive") { metadata in
                try await lease.leaseKeepAlive(
                    metadata: metadata,
                    requestProducer: { writer in
                        await withTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for await _ in done {}
                            }
                            group.addTask {
                                while !Task.isCancelled {
                                    do {
                                        try await writer.write(request)
                                        try await Task.sleep(for: interval)
                                    } catch {
                                        return
                                    }
                                }
                            }
                            _ = await group.next()
                            group.cancelAll()
                        }
                    },
                    onResponse: { response in
                        defer { finish.finish() }
                        for try await message in response.messages {
                            guard message.ttl > 0 else {
                                throw DiscoveryError(.notFound, "etcd: lease \(id) is gone")
                            }
                            onRenewed()
                        }
                        if !Task.isCancelled {
                            throw RPCError(code: .unavailable, message: "keepalive stream ended")
                        }
                    })
            }
        } catch  where error.code == .unavailable && Task.isCancelled {
            return
        }
    }
}
