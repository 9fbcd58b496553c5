import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// The gRPC side of one HTTP/2 connection: turns calls into HEADERS and DATA frames on new
/// streams, and the server's frames back into messages and statuses.
///
/// It sits after `NIOHTTP2Handler` in frame mode (no per-stream child channels: a call is an
/// entry in a dictionary, which keeps a unary call to a few allocations). Since there is no
/// multiplexer, it also does what one would: keeps the connection's and each stream's inbound
/// flow-control windows open from NIOHTTP2's own accounting (`NIOHTTP2WindowUpdatedEvent`, as
/// its `InboundWindowManager` does), which also counts DATA that NIOHTTP2 drops (on a stream
/// already reset) and padding; gives a stream's window back only as its reader takes the
/// messages (back-pressure); and notices closed streams through `StreamClosedEvent`.
///
/// While calls are open it pings the server every keepalive interval and closes the connection
/// when a ping goes unanswered for the keepalive timeout; a server that sends more PINGs or
/// SETTINGS than the calls explain is cut off (the flood guard).
///
/// Every method runs on the channel's event loop.
final class GRPCConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct Configuration: Sendable {
        var keepaliveInterval: TimeAmount
        var keepaliveTimeout: TimeAmount
        /// How long the TLS handshake and the server's SETTINGS may take after the TCP connect.
        var prefaceTimeout: TimeAmount
        /// Called when the server says GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"): its
        /// keepalive policy is stricter than our interval (gRPC's keepalive spec, A8).
        var tooManyPings: (@Sendable () -> Void)? = nil
    }

    /// The inbound window this client grants, per stream and for the connection: large, so a
    /// watch answering a burst of changes is not held up waiting for WINDOW_UPDATEs.
    static let windowSize = 4 << 20

    private enum State {
        /// Connected (TCP), waiting for the server's first SETTINGS.
        case starting
        case ready
        /// The server sent GOAWAY: calls in flight finish, no new ones start.
        case draining
        case closed(GRPCError)
    }

    private let configuration: Configuration
    private let ready: EventLoopPromise<Void>
    /// Cleared as soon as this connection takes no new calls; read from any thread.
    let usable: GRPCConnectionFlag
    private var state = State.starting
    private var context: ChannelHandlerContext?
    private var calls: [HTTP2StreamID: GRPCCall] = [:]
    private var nextStreamID = HTTP2StreamID(1)
    /// The first failure seen; it becomes the cause of every call the connection's end fails.
    private var failure: (any Error)?
    private var keepalive: Scheduled<Void>?
    /// PING and SETTINGS frames the server may still send before it counts as a flood.
    private var controlFrameAllowance = GRPCConnectionHandler.controlFrameBudget
    private var controlFrameRefill = NIODeadline.uptimeNanoseconds(0)
    /// PINGs from the server so far (docs/etcd.md has what a real etcd sends).
    private(set) var receivedPings = 0
    private var pingTimeout: Scheduled<Void>?
    private var prefaceTimeout: Scheduled<Void>?

    init(configuration: Configuration, ready: EventLoopPromise<Void>, usable: GRPCConnectionFlag) {
        self.configuration = configuration
        self.ready = ready
        self.usable = usable
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { armPrefaceTimeout(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        armPrefaceTimeout(context)
        context.fireChannelActive()
    }

    private func armPrefaceTimeout(_ context: ChannelHandlerContext) {
        guard prefaceTimeout == nil else { return }
        let timeout = configuration.prefaceTimeout
        prefaceTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, case .starting = self.state else { return }
            self.close(
                GRPCError(
                    .unavailable, "no HTTP/2 connection preface from the server within \(Self.text(timeout))")
            )
        }
    }

    // MARK: - Calls

    /// Opens a stream for `call` and sends its headers and, when given, its first message;
    /// `endStream` closes this side after them.
    func start(
        _ call: GRPCCall, headers: HPACKHeaders, message: ByteBuffer?, endStream: Bool, timeout: TimeAmount?
    ) {
        guard !call.finished else { return }  // cancelled before it started
        guard let context else {
            return finish(call, GRPCError(.unavailable, "the connection is closed"))
        }
        switch state {
        case .ready:
            break
        case .starting, .draining:
            return finish(call, GRPCError(.unavailable, "the connection takes no new calls"))
        case .closed(let error):
            return finish(call, error)
        }
        let id = nextStreamID
        nextStreamID = HTTP2StreamID(Int32(id) + 2)
        if Int32(nextStreamID) > Int32.max - 2 {
            // Stream ids are spent: this connection ends when its calls do; the next call opens
            // a new one.
            beginDraining()
        }
        call.streamID = id
        calls[id] = call
        if let timeout {
            call.deadlineTask = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                self?.cancel(call, GRPCError(.deadlineExceeded, "no answer within \(Self.text(timeout))"))
            }
        }
        let onlyHeaders = message == nil && endStream
        context.write(
            wrapOutboundOut(
                HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: onlyHeaders)))),
            promise: nil)
        if let message {
            context.write(
                wrapOutboundOut(
                    HTTP2Frame(
                        streamID: id, payload: .data(.init(data: .byteBuffer(message), endStream: endStream)))
                ),
                promise: nil)
        }
        call.halfClosed = endStream
        context.flush()
        earnControlFrames(message == nil ? 1 : 2)
        startKeepalive(context)
    }

    /// Sends one more message on an open stream; ignored once the call has ended.
    func send(_ call: GRPCCall, _ message: ByteBuffer) {
        guard let context, let id = call.streamID, !call.finished, !call.halfClosed else { return }
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(message))))),
            promise: nil)
        earnControlFrames(1)
    }

    /// Ends the call early: RST_STREAM(CANCEL) to the server, `error` to the caller (`nil`: a
    /// callback call that its function ended).
    func cancel(_ call: GRPCCall, _ error: (any Error)? = GRPCError(.cancelled, "cancelled")) {
        guard !call.finished else { return }
        // Ended first: NIOHTTP2 reports the stream's closing (StreamClosedEvent) while the
        // RST_STREAM is written, and that must find no call to end with a "reset" error.
        finish(call, error, stoppedByCallback: error == nil)
        if let context, let id = call.streamID {
            context.writeAndFlush(
                wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
        }
    }

    /// Delivers the call's end: its message or `error` to a unary call, the end of the
    /// messages to a stream.
    private func finish(_ call: GRPCCall, _ error: (any Error)?, stoppedByCallback: Bool = false) {
        guard !call.finished else { return }
        call.finished = true
        call.deadlineTask?.cancel()
        if let id = call.streamID { calls.removeValue(forKey: id) }
        switch call.delivery {
        case .unary(let promise):
            if let error {
                promise.fail(error)
            } else if let response = call.response {
                promise.succeed(response)
            } else {
                promise.fail(GRPCError(.internal, "the server ended the call without a message"))
            }
        case .stream(let continuation):
            continuation.finish(throwing: error)
        case .callback(_, let end):
            if let error { end.fail(error) } else { end.succeed(stoppedByCallback) }
        }
        if case .draining = state, calls.isEmpty { context?.close(promise: nil) }
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard let call = calls[frame.streamID] else { return }
            received(headers: headers.headers, endStream: headers.endStream, on: call)
        case .data(let payload):
            received(payload, on: frame.streamID, context: context)
        case .rstStream(let code):
            guard let call = calls[frame.streamID] else { return }
            finish(call, Self.error(resetWith: code))
        case .settings(.settings):
            guard case .starting = state else { return receivedControlFrame() }
            state = .ready
            prefaceTimeout?.cancel()
            // The connection's window starts at 65,535 bytes whatever SETTINGS say; raise it.
            context.writeAndFlush(
                wrapOutboundOut(
                    HTTP2Frame(
                        streamID: .rootStream,
                        payload: .windowUpdate(windowSizeIncrement: Self.windowSize - 65_535))),
                promise: nil)
            ready.succeed()
        case .ping(_, ack: true):
            pingTimeout?.cancel()
            pingTimeout = nil
        case .ping(_, ack: false):
            receivedPings += 1
            receivedControlFrame()
        case .goAway(let lastStreamID, let code, let debugData):
            if code == .enhanceYourCalm, let debugData, String(buffer: debugData) == "too_many_pings" {
                configuration.tooManyPings?()
            }
            beginDraining()
            // Streams the server never saw can be retried elsewhere: unavailable.
            for (id, call) in calls where id > lastStreamID {
                finish(
                    call,
                    GRPCError(
                        .unavailable,
                        "the server is going away (\(EtcdClient.words(for: code))) and did not take the call")
                )
            }
        default:
            break
        }
    }

    private func received(headers: HPACKHeaders, endStream: Bool, on call: GRPCCall) {
        if !call.receivedHeaders {
            call.receivedHeaders = true
            if let status = headers.first(name: ":status"), status != "200" {
                return cancel(call, Self.error(httpStatus: status))
            }
            // What is not gRPC is not read as gRPC (a proxy's HTML page, say); gRPC maps a 200
            // with another content type to UNKNOWN. A trailers-only answer may carry none.
            let contentType = headers.first(name: "content-type")
            if !endStream || contentType != nil,
                !Self.isGRPC(contentType: contentType ?? "")
            {
                return cancel(
                    call,
                    GRPCError(
                        .unknown,
                        "the server answered with content-type '\(contentType ?? "")', not gRPC"))
            }
            // A "trailers-only" answer: the status is in the only HEADERS.
            if endStream { finishWithStatus(call, headers) }
            return
        }
        finishWithStatus(call, headers)
    }

    /// Whether a content type is gRPC's, in any case (media types are case-insensitive),
    /// without lowercasing a copy on every call.
    static func isGRPC(contentType: String) -> Bool {
        let prefix = "application/grpc".utf8
        guard contentType.utf8.count >= prefix.count else { return false }
        // The prefix is lower case; an ASCII capital letter is lowered, nothing else.
        return zip(contentType.utf8, prefix).allSatisfy { byte, wanted in
            (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == wanted
        }
    }

    private func finishWithStatus(_ call: GRPCCall, _ trailers: HPACKHeaders) {
        let status = Self.status(trailers)
        if status == nil, call.reader.pendingBytes > 0 {
            finish(call, GRPCError(.internal, "the server ended the call inside a message"))
        } else {
            finish(call, status)
        }
        // Ended first, as in cancel(_:): writing the reset closes the stream, and the
        // StreamClosedEvent must not find the call and end it as "reset (no error)" instead of
        // with the server's status.
        if !call.halfClosed, let context, let id = call.streamID {
            // The server is done; close this side too, so the stream does not linger.
            context.writeAndFlush(
                wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.noError))), promise: nil)
        }
    }

    private func received(
        _ payload: HTTP2Frame.FramePayload.Data, on id: HTTP2StreamID, context: ChannelHandlerContext
    ) {
        guard case .byteBuffer(let bytes) = payload.data else { return }
        // Windows are topped up when NIOHTTP2 reports them (userInboundEventTriggered), right
        // after this frame.
        guard let call = calls[id] else { return }
        call.reader.append(bytes)
        do {
            while let message = try call.reader.next() {
                switch call.delivery {
                case .unary:
                    guard call.response == nil else {
                        return cancel(
                            call, GRPCError(.internal, "the server sent two messages to a unary call"))
                    }
                    call.response = message
                case .stream(let continuation):
                    call.heldBytes += message.readableBytes + 5
                    continuation.yield(message)
                case .callback(let onMessage, _):
                    guard try onMessage(message) else { return cancel(call, nil) }
                }
            }
        } catch {
            return cancel(call, error)
        }
        if payload.endStream {
            // END_STREAM on DATA: the server ended the call without trailers.
            finish(call, GRPCError(.internal, "the server ended the call without a status"))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let update = event as? NIOHTTP2WindowUpdatedEvent, let window = update.inboundWindowSize {
            if update.streamID == .rootStream {
                topUpConnection(window: window)
            } else if let call = calls[update.streamID] {
                call.window = window
                topUp(call)
            }
        } else if let closed = event as? StreamClosedEvent, let call = calls[closed.streamID] {
            // Trailers and resets already ended their calls; what is left was closed under us.
            finish(
                call,
                closed.reason.map(Self.error(resetWith:))
                    ?? GRPCError(.internal, "the stream closed without a status"))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        // NIOHTTP2 deals with its own protocol errors: a stream error resets that stream (a
        // StreamClosedEvent follows), a connection error sends GOAWAY and closes. Anything else
        // (a socket or TLS failure) ends the connection here.
        if !(error is any NIOHTTP2Error) { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error: GRPCError
        switch state {
        case .closed(let reason):
            error = reason
        case .starting:
            // Refused by TLS, or a server that is not HTTP/2 (a TLS port spoken to in the clear
            // hangs up on the preface).
            error =
                if let failure, !(failure is any NIOHTTP2Error) {
                    GRPCError(.unavailable, "could not establish a connection", cause: failure)
                } else {
                    GRPCError(
                        .unavailable,
                        "the server closed the connection before completing the HTTP/2 connection preface")
                }
        case .ready, .draining:
            error = GRPCError(.unavailable, "the connection to the server was lost", cause: failure)
        }
        state = .closed(error)
        usable.clear()
        prefaceTimeout?.cancel()
        keepalive?.cancel()
        pingTimeout?.cancel()
        ready.fail(error)
        for call in calls.values { finish(call, error) }
        context.fireChannelInactive()
    }

    // MARK: - Flow control

    /// Gives the server back the connection's window once half of it is spent. `window` is
    /// NIOHTTP2's figure, so DATA it dropped for streams already reset is given back too;
    /// what the streams hold is bounded by their own windows.
    private func topUpConnection(window: Int) {
        guard let context, window <= Self.windowSize / 2 else { return }
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(
                    streamID: .rootStream,
                    payload: .windowUpdate(windowSizeIncrement: Self.windowSize - window))),
            promise: nil)
    }

    /// Gives the server back a stream's window, less what its reader has not taken yet, once
    /// half of it is spent.
    private func topUp(_ call: GRPCCall) {
        let room = Self.windowSize - call.window - call.heldBytes
        guard room >= Self.windowSize / 2, !call.finished, let context, let id = call.streamID else { return }
        call.window += room
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: room))),
            promise: nil)
    }

    /// A `.stream` reader took `bytes` of the messages handed to it.
    func consumed(_ call: GRPCCall, bytes: Int) {
        call.heldBytes = max(0, call.heldBytes - bytes)
        topUp(call)
    }

    // MARK: - Flood guard

    /// What a server may send in PING and SETTINGS frames (each one makes this side answer)
    /// every 30 seconds beside one per frame of ours: a grpc-go server (etcd) pings at most once
    /// per DATA frame it reads, to size its windows, and otherwise only for its keepalive.
    static let controlFrameBudget = 200
    /// The most a long run of calls can save up.
    static let maximumControlFrameAllowance = 100_000

    private func earnControlFrames(_ count: Int) {
        controlFrameAllowance = min(controlFrameAllowance + count, Self.maximumControlFrameAllowance)
    }

    /// Counts a PING or SETTINGS from the server; one too many closes the connection.
    /// swift-nio-http2's own limit is set above this one (``GRPCConnection/http2``): it cannot
    /// tell a busy client's legitimate PINGs from a flood.
    private func receivedControlFrame() {
        guard let now = context?.eventLoop.now else { return }
        if now >= controlFrameRefill {
            controlFrameAllowance = max(controlFrameAllowance, Self.controlFrameBudget)
            controlFrameRefill = now + .seconds(30)
        }
        controlFrameAllowance -= 1
        guard controlFrameAllowance < 0 else { return }
        close(
            GRPCError(
                .unavailable,
                "the server sent more PING and SETTINGS frames than its calls explain (over \(Self.controlFrameBudget) in 30 seconds beside one per frame sent); closing the connection"
            ))
    }

    // MARK: - Connection

    private func beginDraining() {
        if case .ready = state { state = .draining }
        usable.clear()
        if calls.isEmpty { context?.close(promise: nil) }
    }

    /// Closes the connection; its calls end with `error`.
    func close(_ error: GRPCError) {
        if case .closed = state { return }
        state = .closed(error)
        usable.clear()
        context?.close(promise: nil)
    }

    private func startKeepalive(_ context: ChannelHandlerContext) {
        guard keepalive == nil else { return }
        keepalive = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.keepaliveInterval) {
            [weak self] in
            guard let self, let context = self.context else { return }
            self.keepalive = nil
            self.ping()
            if case .closed = self.state { return }
            self.startKeepalive(context)
        }
    }

    /// A keepalive PING, while calls are open and no ping is waiting for its answer.
    private func ping() {
        guard let context, !calls.isEmpty, pingTimeout == nil else { return }
        let timeout = configuration.keepaliveTimeout
        pingTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.close(
                GRPCError(
                    .unavailable, "the server did not answer a keepalive ping within \(Self.text(timeout))"))
        }
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(
                    streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 0x5344_4354), ack: false)
                )),
            promise: nil)
    }
}

/// Whether a connection takes new calls: set by its handler on the event loop, read by callers
/// on any thread.
final class GRPCConnectionFlag: Sendable {
    private let value = Atomic(true)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func clear() { value.store(false, ordering: .releasing) }
}
