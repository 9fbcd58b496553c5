import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization

/// A gRPC server on a free loopback port that answers each call as a test says, for what a real
/// etcd will not do on demand: answers that loop, a wrong content type, a server that never
/// ends a stream. Plaintext HTTP/2 (prior knowledge), as etcd serves it without TLS.
///
/// `answer` gets the method path and the first request message (without its five-byte gRPC
/// prefix) and returns the call's reply. Requests are counted by path.
public final class FakeGRPCServer: Sendable {
    public struct Reply: Sendable {
        public var messages: [[UInt8]]
        /// `nil`: the stream is left open after the messages (a watch that goes on).
        public var status: Int?
        /// The status's `grpc-message`, sent as it is (no percent-encoding).
        public var message: String?
        public var contentType: String

        public init(
            messages: [[UInt8]], status: Int? = 0, message: String? = nil,
            contentType: String = "application/grpc"
        ) {
            self.messages = messages
            self.status = status
            self.message = message
            self.contentType = contentType
        }
    }

    public let port: Int
    private let channel: any Channel
    private let counts = Counts()

    final class Counts: Sendable {
        let byPath = Mutex<[String: Int]>([:])
        let requiringLeader = Mutex<[String: Int]>([:])
    }

    public init(answer: @escaping @Sendable (_ path: String, _ request: [UInt8]) -> Reply) async throws {
        let counts = self.counts
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.configureHTTP2Pipeline(mode: .server) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(
                            StreamHandler(answer: answer, counts: counts))
                    }
                }.map { _ in }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    /// How many calls each method path got.
    public var requestCounts: [String: Int] { counts.byPath.withLock { $0 } }

    /// How many calls of each path carried `hasleader: true` (clientv3's `WithRequireLeader`).
    public var requestsRequiringLeader: [String: Int] { counts.requiringLeader.withLock { $0 } }

    public func stop() { channel.close(promise: nil) }

    deinit { stop() }

    /// One call: the request's headers, then data until a whole first message is in.
    private final class StreamHandler: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload

        let answer: @Sendable (String, [UInt8]) -> Reply
        let counts: Counts
        var path = ""
        var received: [UInt8] = []
        var answered = false

        init(answer: @escaping @Sendable (String, [UInt8]) -> Reply, counts: Counts) {
            self.answer = answer
            self.counts = counts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let headers):
                path = headers.headers.first(name: ":path") ?? ""
                if headers.headers.first(name: "hasleader") == "true" {
                    let path = self.path
                    counts.requiringLeader.withLock { $0[path, default: 0] += 1 }
                }
            case .data(let frame):
                if case .byteBuffer(let buffer) = frame.data { received += buffer.readableBytesView }
                guard !answered, received.count >= 5 else { return }
                let length =
                    Int(received[1]) << 24 | Int(received[2]) << 16 | Int(received[3]) << 8 | Int(received[4])
                guard received.count >= 5 + length else { return }
                answered = true
                let path = self.path
                counts.byPath.withLock { $0[path, default: 0] += 1 }
                respond(context, answer(path, Array(received[5..<(5 + length)])))
            default:
                break
            }
        }

        private func respond(_ context: ChannelHandlerContext, _ reply: Reply) {
            let headers: HPACKHeaders = [":status": "200", "content-type": reply.contentType]
            context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
            for message in reply.messages {
                var buffer = context.channel.allocator.buffer(capacity: message.count + 5)
                buffer.writeInteger(UInt8(0))
                buffer.writeInteger(UInt32(message.count))
                buffer.writeBytes(message)
                context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer)))), promise: nil)
            }
            if let status = reply.status {
                var trailers: HPACKHeaders = ["grpc-status": "\(status)"]
                if let message = reply.message { trailers.add(name: "grpc-message", value: message) }
                context.write(
                    wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
            }
            context.flush()
        }
    }
}
