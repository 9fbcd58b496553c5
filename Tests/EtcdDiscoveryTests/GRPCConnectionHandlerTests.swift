import Discovery
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Testing

@testable import EtcdDiscovery

/// The gRPC client's frame handling, driven frame by frame on an embedded channel: what it
/// writes for a call, and what it makes of every way a server can answer or fail.
@Suite("gRPC connection handler")
struct GRPCConnectionHandlerTests {
    static let configuration = GRPCConnectionHandler.Configuration(
        keepaliveInterval: .seconds(10), keepaliveTimeout: .seconds(5), prefaceTimeout: .seconds(5))

    /// A channel with the handler, past the server's SETTINGS, and the frames that wrote.
    struct Harness {
        let channel = EmbeddedChannel()
        let handler: GRPCConnectionHandler
        let ready: EventLoopPromise<Void>
        let usable = GRPCConnectionFlag()

        init(
            settings: Bool = true,
            configuration: GRPCConnectionHandler.Configuration = GRPCConnectionHandlerTests.configuration
        ) throws {
            ready = channel.eventLoop.makePromise()
            handler = GRPCConnectionHandler(configuration: configuration, ready: ready, usable: usable)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379)).wait()
            if settings {
                try channel.writeInbound(HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([]))))
                _ = try written()
            }
        }

        func written() throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) { frames.append(frame) }
            return frames
        }

        func unary(timeout: TimeAmount? = nil) -> (GRPCCall, EventLoopFuture<ByteBuffer>) {
            let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
            let call = GRPCCall(.unary(promise))
            handler.start(
                call, headers: GRPCConnectionHandlerTests.request,
                message: GRPCConnectionHandlerTests.framed([1, 2, 3]),
                endStream: true, timeout: timeout)
            return (call, promise.futureResult)
        }

        func receive(_ payload: HTTP2Frame.FramePayload, on stream: HTTP2StreamID = 1) throws {
            try channel.writeInbound(HTTP2Frame(streamID: stream, payload: payload))
        }

        /// The call's error, failing the test when it succeeded or is still open.
        func failure(_ future: EventLoopFuture<ByteBuffer>) -> GRPCError? {
            var result: Result<ByteBuffer, any Error>?
            future.assumeIsolated().whenComplete { result = $0 }
            guard case .failure(let error) = result else {
                Issue.record("the call did not fail: \(String(describing: result))")
                return nil
            }
            return error as? GRPCError
        }
    }

    static let request: HPACKHeaders = [":method": "POST", ":path": "/etcdserverpb.KV/Range"]
    static let ok: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]

    static func framed(_ bytes: [UInt8]) -> ByteBuffer {
        GRPCMessageWriter.frame(bytes, allocator: ByteBufferAllocator())
    }

    static func trailers(_ status: Int, _ message: String? = nil) -> HPACKHeaders {
        var headers: HPACKHeaders = ["grpc-status": "\(status)"]
        if let message { headers.add(name: "grpc-message", value: message) }
        return headers
    }

    @Test("a unary call: its headers and message go out, a message split over frames comes back")
    func unary() throws {
        let harness = try Harness()
        let (_, future) = harness.unary(timeout: .milliseconds(1500))
        let frames = try harness.written()
        #expect(frames.count == 2)
        guard case .headers(let headers) = frames.first?.payload else {
            Issue.record("no HEADERS first: \(frames)")
            return
        }
        #expect(headers.headers.first(name: ":path") == "/etcdserverpb.KV/Range")
        #expect(!headers.endStream)
        guard case .data(let data) = frames.last?.payload, case .byteBuffer(let body) = data.data else {
            Issue.record("no DATA last: \(frames)")
            return
        }
        #expect(data.endStream)
        #expect(Array(body.readableBytesView) == [0, 0, 0, 0, 3, 1, 2, 3])

        var response = Self.framed([7, 8, 9, 10])
        let first = response.readSlice(length: 3)!
        try harness.receive(.headers(.init(headers: Self.ok)))
        try harness.receive(.data(.init(data: .byteBuffer(first))))
        try harness.receive(.data(.init(data: .byteBuffer(response))))
        try harness.receive(.headers(.init(headers: Self.trailers(0), endStream: true)))
        #expect(Array(try future.wait().readableBytesView) == [7, 8, 9, 10])
    }

    @Test("statuses and failures reach the caller with gRPC's codes and the server's own words")
    func failures() throws {
        let harness = try Harness()
        // Trailers only, with a percent-encoded message.
        var (_, future) = harness.unary()
        try harness.receive(
            .headers(
                .init(
                    headers: Self.ok + Self.trailers(16, "etcdserver: invalid auth token %E2%9C%93"),
                    endStream: true)))
        var error = harness.failure(future)
        #expect(error?.code == .unauthenticated)
        #expect(error?.message == "etcdserver: invalid auth token ✓")

        // Not gRPC at all.
        (_, future) = harness.unary()
        try harness.receive(.headers(.init(headers: [":status": "503"])), on: 3)
        #expect(harness.failure(future)?.code == .unavailable)

        // Reset by the server.
        (_, future) = harness.unary()
        try harness.receive(.rstStream(.refusedStream), on: 5)
        error = harness.failure(future)
        #expect(error?.code == .unavailable)
        #expect(error?.message == "the server reset the stream (refused stream)", "not a Swift case name")

        // A stream that ends inside a message, and one with no status.
        (_, future) = harness.unary()
        try harness.receive(.headers(.init(headers: Self.ok)), on: 7)
        try harness.receive(.data(.init(data: .byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 9, 1])))), on: 7)
        try harness.receive(.headers(.init(headers: Self.trailers(0), endStream: true)), on: 7)
        error = harness.failure(future)
        #expect(error?.code == .internal && error?.message.contains("inside a message") == true)
        (_, future) = harness.unary()
        try harness.receive(.headers(.init(headers: Self.ok)), on: 9)
        try harness.receive(.headers(.init(headers: [:], endStream: true)), on: 9)
        #expect(harness.failure(future)?.message.contains("no grpc-status") == true)

        // A compressed message, which was never asked for.
        (_, future) = harness.unary()
        try harness.receive(.headers(.init(headers: Self.ok)), on: 11)
        try harness.receive(.data(.init(data: .byteBuffer(ByteBuffer(bytes: [1, 0, 0, 0, 1, 1])))), on: 11)
        #expect(harness.failure(future)?.message.contains("compressed") == true)
    }

    @Test("GOAWAY fails only the calls the server did not take, and the connection takes no more")
    func goAway() throws {
        let harness = try Harness()
        let (_, taken) = harness.unary()
        let (_, notTaken) = harness.unary()
        try harness.receive(.goAway(lastStreamID: 1, errorCode: .noError, opaqueData: nil), on: .rootStream)
        #expect(harness.failure(notTaken)?.code == .unavailable)
        #expect(!harness.usable.isSet)
        let (_, late) = harness.unary()
        #expect(harness.failure(late)?.message.contains("no new calls") == true)
        try harness.receive(.headers(.init(headers: Self.ok)))
        try harness.receive(.data(.init(data: .byteBuffer(Self.framed([42])))))
        try harness.receive(.headers(.init(headers: Self.trailers(0), endStream: true)))
        #expect(Array(try taken.wait().readableBytesView) == [42])
        #expect(!harness.channel.isActive, "a draining connection closes once its calls are done")
    }

    @Test("a lost connection fails every call on it; before SETTINGS it is a failed preface")
    func lost() throws {
        let harness = try Harness()
        let (_, future) = harness.unary()
        harness.channel.pipeline.fireErrorCaught(IOError(errnoCode: 104, reason: "read"))
        let error = harness.failure(future)
        #expect(error?.code == .unavailable)
        #expect(error?.cause is IOError)

        let early = try Harness(settings: false)
        _ = try early.channel.finish(acceptAlreadyClosed: true)
        let preface = #expect(throws: GRPCError.self) { try early.ready.futureResult.wait() }
        #expect(preface?.message.contains("HTTP/2 connection preface") == true)
    }

    @Test("deadlines and unanswered keepalive pings end calls; a cancelled call resets its stream")
    func timers() throws {
        let harness = try Harness()
        let (_, bounded) = harness.unary(timeout: .milliseconds(200))
        _ = try harness.written()
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(harness.failure(bounded)?.code == .deadlineExceeded)
        #expect(
            try harness.written().contains {
                if case .rstStream(.cancel) = $0.payload { true } else { false }
            })

        let (call, cancelled) = harness.unary()
        harness.handler.cancel(call)
        #expect(harness.failure(cancelled)?.code == .cancelled)

        let (_, open) = harness.unary()
        _ = try harness.written()
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(
            try harness.written().contains {
                if case .ping(_, ack: false) = $0.payload { true } else { false }
            })
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        let error = harness.failure(open)
        #expect(error?.code == .unavailable && error?.message.contains("keepalive ping") == true)
    }

    @Test("a stream delivers each message in order and ends with the server's status")
    func stream() async throws {
        let harness = try Harness()
        let (responses, continuation) = AsyncThrowingStream.makeStream(
            of: ByteBuffer.self, throwing: (any Error).self)
        let call = GRPCCall(.stream(continuation))
        harness.handler.start(
            call, headers: Self.request, message: Self.framed([1]), endStream: false, timeout: nil)
        var two = Self.framed([2])
        var three = Self.framed([3, 3])
        two.writeBuffer(&three)
        try harness.receive(.headers(.init(headers: Self.ok)))
        try harness.receive(.data(.init(data: .byteBuffer(two))))
        try harness.receive(.headers(.init(headers: Self.trailers(14, "leader changed"), endStream: true)))
        var messages: [[UInt8]] = []
        let error = await #expect(throws: GRPCError.self) {
            for try await message in responses { messages.append(Array(message.readableBytesView)) }
        }
        #expect(messages == [[2], [3, 3]])
        #expect(error?.code == .unavailable && error?.message == "leader changed")
    }

    @Test(
        "the message reader takes messages split across frames and several in one, and refuses oversized ones"
    )
    func reader() throws {
        var reader = GRPCMessageReader()
        var bytes = Self.framed([1, 2])
        var second = Self.framed([])
        bytes.writeBuffer(&second)
        for byte in bytes.readableBytesView {
            reader.append(ByteBuffer(bytes: [byte]))
        }
        #expect(try reader.next().map { Array($0.readableBytesView) } == [1, 2])
        #expect(try reader.next().map { Array($0.readableBytesView) } == [])
        #expect(try reader.next() == nil)
        #expect(reader.pendingBytes == 0)
        reader.append(ByteBuffer(bytes: [0, 0xFF, 0xFF, 0xFF, 0xFF]))
        let error = #expect(throws: GRPCError.self) { try reader.next() }
        #expect(error?.code == .resourceExhausted)
    }
}

extension HPACKHeaders {
    fileprivate static func + (lhs: HPACKHeaders, rhs: HPACKHeaders) -> HPACKHeaders {
        var result = lhs
        result.add(contentsOf: rhs)
        return result
    }
}

extension GRPCConnectionHandlerTests {
    @Test("a grpc-message with percent-encoded escapes and line breaks becomes one line with them shown")
    func hostileStatusMessage() throws {
        let harness = try Harness()
        let (_, future) = harness.unary()
        _ = try harness.written()
        try harness.receive(.headers(.init(headers: Self.ok)))
        try harness.receive(
            .headers(
                .init(
                    headers: Self.trailers(13, "%1B]52;c;aGk=%07%1B[31mred%0Asdctl: forged%E2%80%AE"),
                    endStream: true)))
        let error = try #require(harness.failure(future))
        let mapped = EtcdClient.map(error, "range")
        #expect(
            !mapped.message.unicodeScalars.contains {
                $0.value < 0x20 || $0.value == 0x7F || $0.value == 0x202E
            })
        #expect(mapped.message.contains(#"\x1B[31mred\x0Asdctl: forged"#), "\(mapped.message)")
    }
}

extension GRPCConnectionHandlerTests {
    @Test("transport failures and bad answers are described in words, not Swift names")
    func failuresInWords() throws {
        #expect(EtcdClient.words(for: HTTP2ErrorCode.internalError) == "internal error")
        #expect(
            EtcdClient.words(for: ChannelPipelineError.notFound) == "the server closed the connection at once"
        )
        #expect(EtcdClient.words(for: ChannelError.connectTimeout(.seconds(1))) == "connect timed out")
        let error = #expect(throws: DiscoveryError.self) {
            _ = try EtcdClient.decode(
                ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]), "range", as: Etcdserverpb_RangeResponse.self)
        }
        #expect(error?.message == "etcd: range: the answer is not valid protobuf")
        let mapped = EtcdClient.map(
            GRPCError(.unavailable, "could not establish a connection", cause: ChannelPipelineError.notFound),
            "range")
        #expect(
            mapped.message
                == "etcd: range: could not establish a connection: the server closed the connection at once")
    }
}

extension GRPCConnectionHandlerTests {
    @Test("gRPC's content types are told from others in any case, without a lowered copy")
    func contentTypes() {
        for type in [
            "application/grpc", "application/grpc+proto", "Application/GRPC", "application/grpc; x=y",
        ] {
            #expect(GRPCConnectionHandler.isGRPC(contentType: type), "\(type)")
        }
        for type in ["", "application/grp", "text/html", "application/json", "application\u{0F}grpc"] {
            #expect(!GRPCConnectionHandler.isGRPC(contentType: type), "\(type)")
        }
    }

    /// Issue #24, item 5: swift-nio-http2's flood limit is set out of reach (a busy client's
    /// legitimate pings would trip it), so the handler keeps its own.
    @Test("PINGs past what the calls explain close the connection; one per frame sent does not")
    func pingFlood() throws {
        let harness = try Harness()
        // 300 unary calls write 600 frames: with the budget of 200, 800 PINGs are fine.
        let futures = (0..<300).map { _ in harness.unary().1 }
        let ping = HTTP2Frame.FramePayload.ping(HTTP2PingData(withInteger: 1), ack: false)
        for _ in 0..<800 { try harness.receive(ping, on: .rootStream) }
        #expect(harness.channel.isActive)
        try harness.receive(ping, on: .rootStream)
        #expect(!harness.channel.isActive)
        let error = harness.failure(futures[0])
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("more PING and SETTINGS frames than its calls explain") == true)
    }

    @Test("GOAWAY 'too_many_pings' is reported, and the channel's next connections ping half as often")
    func tooManyPings() throws {
        let reported = NIOLockedValueBox(0)
        var configuration = Self.configuration
        configuration.tooManyPings = { reported.withLockedValue { $0 += 1 } }
        let harness = try Harness(configuration: configuration)
        try harness.receive(
            .goAway(lastStreamID: 0, errorCode: .enhanceYourCalm, opaqueData: ByteBuffer(string: "other")),
            on: .rootStream)
        #expect(reported.withLockedValue { $0 } == 0)
        try harness.receive(
            .goAway(
                lastStreamID: 0, errorCode: .enhanceYourCalm, opaqueData: ByteBuffer(string: "too_many_pings")
            ),
            on: .rootStream)
        #expect(reported.withLockedValue { $0 } == 1)

        let channel = GRPCChannel(
            endpoints: [],
            configuration: .init(tls: nil, connectTimeout: .seconds(1), handler: Self.configuration),
            group: MultiThreadedEventLoopGroup.singleton)
        #expect(channel.connectionConfiguration.handler.keepaliveInterval == .seconds(10))
        channel.tooManyPings()
        #expect(channel.connectionConfiguration.handler.keepaliveInterval == .seconds(20))
        for _ in 0..<20 { channel.tooManyPings() }
        #expect(channel.connectionConfiguration.handler.keepaliveInterval == .hours(1))
    }
}
