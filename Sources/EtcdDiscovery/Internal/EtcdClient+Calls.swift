import Discovery
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

/// The etcd v3 methods this client calls (api/etcdserverpb/rpc.proto).
enum EtcdMethod {
    static let range = "/etcdserverpb.KV/Range"
    static let put = "/etcdserverpb.KV/Put"
    static let deleteRange = "/etcdserverpb.KV/DeleteRange"
    static let txn = "/etcdserverpb.KV/Txn"
    static let compact = "/etcdserverpb.KV/Compact"
    static let leaseGrant = "/etcdserverpb.Lease/LeaseGrant"
    static let leaseRevoke = "/etcdserverpb.Lease/LeaseRevoke"
    static let leaseKeepAlive = "/etcdserverpb.Lease/LeaseKeepAlive"
    static let watch = "/etcdserverpb.Watch/Watch"
    static let authenticate = "/etcdserverpb.Auth/Authenticate"
}

extension EtcdClient {
    /// Runs `body` on a connection with the token's metadata, renewing the token once if the
    /// server rejects it; any other failure is mapped to a ``DiscoveryError``.
    ///
    /// `requireLeader` asks the member to refuse the call, and to end it later, when it has no
    /// leader (`hasleader`, clientv3's `WithRequireLeader`): watches and keepalives take it, so a
    /// member cut off from the quorum does not keep them open and silent. A member that answers
    /// "no leader", or lets a call pass its deadline, is given up: the next call starts at the
    /// next endpoint.
    func withToken<Result>(
        _ what: String, requireLeader: Bool = false,
        _ body: (GRPCConnection, [(String, String)]) async throws -> Result
    ) async throws(DiscoveryError) -> Result {
        for attempt in 0..<2 {
            var metadata = try await metadata()
            if requireLeader { metadata.append(("hasleader", "true")) }
            var connection: GRPCConnection?
            do {
                let current = try await channel.connection()
                connection = current
                return try await body(current, metadata)
            } catch let error as GRPCError where attempt == 0 && Self.isStaleToken(error) {
                tokenRefused(error, what)
            } catch {
                if let connection, let error = error as? GRPCError, Self.memberCannotServe(error),
                    channel.abandon(connection)
                {
                    logger.warning(
                        "the member cannot serve; the next call tries the next endpoint",
                        metadata: [
                            "sd.etcd.call": "\(what)", "sd.etcd.endpoint": "\(connection.authority)",
                            "sd.error": "\(error.message)",
                        ])
                }
                throw Self.map(error, what)
            }
        }
        throw DiscoveryError(.permissionDenied, "etcd: \(what): authentication failed")
    }

    /// A member without a leader (`ErrGRPCNoLeader`), or one that let a call pass its deadline:
    /// another member may serve where this one cannot.
    static func memberCannotServe(_ error: GRPCError) -> Bool {
        (error.code == .unavailable && error.message.contains("no leader")) || error.code == .deadlineExceeded
    }

    /// A unary call with the token (``withToken(_:_:)``).
    func unary<Response: SwiftProtobuf.Message>(
        _ what: String, _ path: String, _ request: some SwiftProtobuf.Message,
        as _: Response.Type = Response.self,
        inspecting inspect: (ByteBuffer) throws(DiscoveryError) -> Void = { _ in }
    ) async throws(DiscoveryError) -> Response {
        let bytes = try Self.encode(request, what)
        let timeout = Self.timeAmount(configuration.requestTimeout)
        let answer = try await withToken(what) { connection, metadata in
            try await connection.unary(
                path: path, metadata: metadata,
                message: GRPCMessageWriter.frame(bytes, allocator: connection.channel.allocator),
                timeout: timeout)
        }
        try inspect(answer)
        return try Self.decode(answer, what)
    }

    /// A streaming call with the token (``withToken(_:_:)``): `body` reads the stream's answers
    /// (and may send more); the stream is reset when it returns or throws.
    func streaming(
        _ what: String, _ path: String, first request: some SwiftProtobuf.Message,
        _ body: (GRPCStream, ByteBufferAllocator) async throws -> Void
    ) async throws(DiscoveryError) {
        let bytes = try Self.encode(request, what)
        try await withToken(what, requireLeader: true) { connection, metadata in
            let allocator = connection.channel.allocator
            let stream = connection.stream(
                path: path, metadata: metadata, first: GRPCMessageWriter.frame(bytes, allocator: allocator))
            defer { stream.cancel() }
            try await body(stream, allocator)
        }
    }

    /// The metadata every call carries: the auth token, once there is one.
    func metadata() async throws(DiscoveryError) -> [(String, String)] {
        guard configuration.username != nil else { return [] }
        if let token = token.withLock({ $0 }) { return [("token", token)] }
        return [("token", try await authenticate())]
    }

    /// Gets a fresh token with the configured credentials.
    @discardableResult
    func authenticate() async throws(DiscoveryError) -> String {
        guard let username = configuration.username else { return "" }
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = username
        request.password = configuration.password ?? ""
        let bytes = try Self.encode(request, "authenticate")
        let answer: ByteBuffer
        do throws(GRPCError) {
            let connection = try await channel.connection()
            answer = try await connection.unary(
                path: EtcdMethod.authenticate, metadata: [],
                message: GRPCMessageWriter.frame(bytes, allocator: connection.channel.allocator),
                timeout: Self.timeAmount(configuration.requestTimeout))
        } catch  where error.code == .invalidArgument {
            // etcd answers a wrong user or password with InvalidArgument (ErrGRPCAuthFailed).
            throw DiscoveryError(
                .permissionDenied, "etcd: authenticate: \(Self.describe(error))", cause: error)
        } catch {
            throw Self.map(error, "authenticate")
        }
        let response = try Self.decode(answer, "authenticate", as: Etcdserverpb_AuthenticateResponse.self)
        token.withLock { $0 = response.token }
        return response.token
    }

    func tokenRefused(_ error: GRPCError, _ what: String) {
        logger.debug(
            "token refused; authenticating again",
            metadata: ["sd.call": "\(what)", "sd.error": "\(error.message)"])
        token.withLock { $0 = nil }
    }

    /// A token the server no longer takes: expired or unknown (`ErrInvalidAuthToken`), or issued
    /// before a change to users or roles (`ErrAuthOldRevision`, sent as InvalidArgument). Both
    /// are cured by authenticating again, as clientv3 does.
    static func isStaleToken(_ error: GRPCError) -> Bool {
        (error.code == .unauthenticated && error.message.contains("token"))
            || isStaleTokenReason(error.message)
    }

    static func isStaleTokenReason(_ text: String) -> Bool {
        text.contains("invalid auth token") || text.contains("revision of auth store is old")
    }

    static func encode(_ message: some SwiftProtobuf.Message, _ what: String) throws(DiscoveryError)
        -> [UInt8]
    {
        do {
            return try message.serializedBytes()
        } catch {
            throw DiscoveryError(
                .invalidArgument, "etcd: \(what): cannot encode the request: \(error)", cause: error)
        }
    }

    static func decode<Response: SwiftProtobuf.Message>(
        _ buffer: ByteBuffer, _ what: String, as _: Response.Type = Response.self
    ) throws(DiscoveryError) -> Response {
        do {
            return try buffer.withUnsafeReadableBytes { bytes in
                try Response(serializedBytes: RawSpan(_unsafeBytes: bytes))
            }
        } catch {
            throw DiscoveryError(
                .invalidResponse, "etcd: \(what): the answer is not valid protobuf", cause: error)
        }
    }
}
