import Discovery
import NIOCore
import SwiftProtobuf
import TestSupport
import Testing

@testable import EtcdDiscovery

/// A token that expired while a watch was open: etcd refuses it on the next Watch not with a
/// gRPC status but with a watch that is created and cancelled ("invalid auth token"). The
/// client must authenticate again on that too, as clientv3 does.
@Suite("etcd: a stale token on a watch's reconnect", .serialized)
struct EtcdAuthTokenTests {
    @Test("the connection is cut after the token expired: the watch authenticates again and sees a new key")
    func watchReconnectsWithStaleToken() async throws {
        try await EtcdServers.with(authTokenTTL: 2) { servers in
            try await servers.enableAuthentication(password: EtcdSecurityTests.password)
            let proxy = try await TCPProxy(to: servers.members[0].clientPort)
            defer { proxy.stop() }
            let log = RecordingLogHandler.Messages()
            let etcd = try EtcdClient(
                .init(
                    endpoints: [HostPort(host: "127.0.0.1", port: UInt16(proxy.port))], username: "root",
                    password: EtcdSecurityTests.password),
                logger: RecordingLogHandler.logger(log))
            defer { etcd.close() }
            let instancer = EtcdInstancer(client: etcd, prefix: "/services/web/")
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set([], within: .seconds(10))
            // The token's 2 s lifetime runs out while the watch is open and does not use it.
            try await Task.sleep(for: .seconds(3))
            try await proxy.cutConnections()
            _ = try await servers.etcdctl(["put", "/services/web/a", "10.0.0.1:80"])
            do {
                try await subscription.set(["10.0.0.1:80"], within: .seconds(15))
            } catch {
                Issue.record("\(log.all.suffix(10).joined(separator: "\n"))")
                throw error
            }
            #expect(log.all.contains { $0.contains("token refused; authenticating again") }, "\(log.all)")
        }
    }
}

extension EtcdAuthTokenTests {
    @Test("stale tokens are recognized by status and by the reasons etcd gives on a cancelled watch")
    func staleTokenReasons() throws {
        #expect(EtcdClient.isStaleToken(GRPCError(.unauthenticated, "etcdserver: invalid auth token")))
        // ErrAuthOldRevision comes as InvalidArgument.
        #expect(
            EtcdClient.isStaleToken(GRPCError(.invalidArgument, "etcdserver: revision of auth store is old")))
        #expect(!EtcdClient.isStaleToken(GRPCError(.invalidArgument, "etcdserver: authentication failed")))
        #expect(!EtcdClient.isStaleToken(GRPCError(.unavailable, "watch stream ended")))
        var cancelled = Etcdserverpb_WatchResponse()
        cancelled.created = true
        cancelled.canceled = true
        cancelled.cancelReason = "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"
        let bytes = try ByteBuffer(bytes: cancelled.serializedBytes() as [UInt8])
        #expect(throws: GRPCError.self) { try EtcdClient.watchEvent(bytes) }
        do {
            _ = try EtcdClient.watchEvent(bytes)
        } catch let error as GRPCError {
            #expect(error.code == .unauthenticated && EtcdClient.isStaleToken(error))
        }
    }
}
