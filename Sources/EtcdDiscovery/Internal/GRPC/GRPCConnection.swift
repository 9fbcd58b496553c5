import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

/// One HTTP/2 connection to a gRPC server, and the calls made on it.
///
/// Calls hop to the connection's event loop once to start and once to end (the promise or the
/// stream's continuation); everything between is ``GRPCConnectionHandler``'s.
final class GRPCConnection: Sendable {
    /// What every connection of a client shares.
    struct Configuration: Sendable {
        var tls: NIOSSLContext?
        var connectTimeout: TimeAmount
        var handler: GRPCConnectionHandler.Configuration
    }

    let channel: any Channel
    private let handler: NIOLoopBound<GRPCConnectionHandler>
    private let usable: GRPCConnectionFlag
    /// `http` or `https`, and `host:port`: the pseudo-headers of every call.
    private let scheme: String
    let authority: String

    private init(
        channel: any Channel, handler: NIOLoopBound<GRPCConnectionHandler>, usable: GRPCConnectionFlag,
        scheme: String, authority: String
    ) {
        self.channel = channel
        self.handler = handler
        self.usable = usable
        self.scheme = scheme
        self.authority = authority
    }

    /// Whether new calls may start here (connected, no GOAWAY, not closed).
    var isUsable: Bool {
        usable.isSet && channel.isActive
    }

    /// Connects to `address` and waits until the server's SETTINGS arrive (TLS, when
    /// configured, is done by then). `host` is the endpoint as given: the name TLS verifies,
    /// unless it is an IP literal, and the `:authority` of every call.
    static func connect(
        to address: SocketAddress, host: String, port: Int, configuration: Configuration,
        group: any EventLoopGroup
    ) async throws(GRPCError) -> GRPCConnection {
        let loop = group.next()
        let ready = loop.makePromise(of: Void.self)
        let usable = GRPCConnectionFlag()
        let serverHostname = EtcdEndpoints.isIPLiteral(host) ? nil : host
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls = configuration.tls {
                        try pipeline.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try pipeline.addHandler(
                        NIOHTTP2Handler(mode: .client, connectionConfiguration: Self.http2))
                    try pipeline.addHandler(
                        GRPCConnectionHandler(
                            configuration: configuration.handler, ready: ready, usable: usable))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(to: address).get()
        } catch {
            ready.fail(error)
            throw GRPCError(.unavailable, "could not establish a connection", cause: error)
        }
        do {
            try await ready.futureResult.get()
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: GRPCConnectionHandler.self),
                    eventLoop: channel.eventLoop)
            }.get()
            let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            return GRPCConnection(
                channel: channel, handler: handler, usable: usable,
                scheme: configuration.tls == nil ? "http" : "https",
                authority: authority)
        } catch {
            channel.close(promise: nil)
            throw error as? GRPCError
                ?? GRPCError(.unavailable, "could not establish a connection", cause: error)
        }
    }

    /// HTTP/2 settings: no server push, a large stream window (see
    /// ``GRPCConnectionHandler/windowSize``), and a PING allowance a gRPC server can live with:
    /// grpc-go sends up to one per request it receives (to estimate bandwidth-delay product),
    /// far past swift-nio-http2's default limit of 200 in 30 seconds for inbound control frames.
    /// The handler's own flood guard, which counts the frames sent, trips first: this limit is
    /// twice the most it allows (swift-nio-http2 also counts the acks of our own PINGs and
    /// SETTINGS). It is not set higher because swift-nio-http2 reserves room for a timestamp per
    /// frame it allows, 8 bytes each, on every connection.
    static let http2: NIOHTTP2Handler.ConnectionConfiguration = {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: GRPCConnectionHandler.windowSize),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
        ]
        configuration.controlFrameRateLimit.maximumCount =
            2
            * (GRPCConnectionHandler.maximumControlFrameAllowance + GRPCConnectionHandler.controlFrameBudget)
        return configuration
    }()

    func close() {
        channel.close(promise: nil)
    }

    // MARK: - Calls

    /// The request headers of a call to `path` (`/package.Service/Method`).
    func headers(path: String, metadata: [(String, String)], timeout: TimeAmount?) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(8 + metadata.count)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":path", value: path)
        headers.add(name: ":authority", value: authority)
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "te", value: "trailers")
        if let timeout {
            // At most eight digits (PROTOCOL-HTTP2.md); milliseconds cover 27 hours.
            let milliseconds = max(1, timeout.nanoseconds / 1_000_000)
            headers.add(
                name: "grpc-timeout",
                value: milliseconds < 100_000_000
                    ? "\(milliseconds)m" : "\(min(milliseconds / 1000, 99_999_999))S")
        }
        for (name, value) in metadata { headers.add(name: name, value: value) }
        return headers
    }

    /// One request, one response. Cancelling the task resets the stream.
    func unary(
        path: String, metadata: [(String, String)], message: ByteBuffer, timeout: TimeAmount?
    ) async throws(GRPCError) -> ByteBuffer {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: ByteBuffer.self)
        let call = GRPCCall(.unary(promise))
        let headers = headers(path: path, metadata: metadata, timeout: timeout)
        let handler = self.handler
        if loop.inEventLoop {
            handler.value.start(call, headers: headers, message: message, endStream: true, timeout: timeout)
        } else {
            loop.execute {
                handler.value.start(
                    call, headers: headers, message: message, endStream: true, timeout: timeout)
            }
        }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                loop.execute { handler.value.cancel(call) }
            }
        } catch {
            throw error as? GRPCError ?? GRPCError(.unknown, EtcdClient.words(for: error), cause: error)
        }
    }

    /// Opens a stream to `path` whose messages go to `onMessage` on the connection's event loop
    /// (it must not block), until it returns `false` (then this returns `true`), throws (this
    /// throws that), or the server ends the call (`false` for an OK status). Cancelling the task
    /// resets the stream.
    func stream(
        path: String, metadata: [(String, String)], first message: ByteBuffer,
        onMessage: @escaping @Sendable (ByteBuffer) throws -> Bool
    ) async throws -> Bool {
        let loop = channel.eventLoop
        let end = loop.makePromise(of: Bool.self)
        let call = GRPCCall(.callback(onMessage, end: end))
        let headers = headers(path: path, metadata: metadata, timeout: nil)
        let handler = self.handler
        loop.execute {
            handler.value.start(call, headers: headers, message: message, endStream: false, timeout: nil)
        }
        return try await withTaskCancellationHandler {
            try await end.futureResult.get()
        } onCancel: {
            loop.execute { handler.value.cancel(call) }
        }
    }

    /// Opens a stream to `path`; its first message, when given, goes with the headers.
    func stream(path: String, metadata: [(String, String)], first message: ByteBuffer?) -> GRPCStream {
        let (responses, continuation) = AsyncThrowingStream.makeStream(
            of: ByteBuffer.self, throwing: (any Error).self)
        let call = GRPCCall(.stream(continuation))
        let headers = headers(path: path, metadata: metadata, timeout: nil)
        let handler = self.handler
        let loop = channel.eventLoop
        continuation.onTermination = { _ in
            // The reader went away (or the call ended, when this does nothing).
            loop.execute { handler.value.cancel(call) }
        }
        loop.execute {
            handler.value.start(call, headers: headers, message: message, endStream: false, timeout: nil)
        }
        return GRPCStream(call: call, handler: handler, responses: responses)
    }
}
