import Discovery
import NIOCore

/// What both transports check on a reply: the query's id, then (decoded) a response to the
/// query's question. A reply with another id or question is not ours and is dropped, so a
/// spoofed or stale datagram cannot end the wait; a reply with our id that cannot be decoded
/// fails the exchange.
struct DNSReplyMatcher {
    let id: UInt16
    let question: DNSQuestion
    let promise: EventLoopPromise<DNSMessage>

    func accept(_ bytes: ByteBuffer) {
        guard bytes.getInteger(at: bytes.readerIndex, as: UInt16.self) == id else { return }
        let decoded = bytes.withUnsafeReadableBytes { raw in
            Result { () throws(DiscoveryError) in try DNSMessage(decoding: raw) }
        }
        switch decoded {
        case .success(let message):
            guard message.isResponse else { return }
            // A server that could not parse the query (FORMERR) may send no question back.
            let answersQuestion =
                message.questions.count == 1
                ? message.questions[0].matches(question)
                : message.questions.isEmpty && message.responseCode != .noError
            guard answersQuestion else { return }
            promise.succeed(message)
        case .failure(let error):
            promise.fail(error)
        }
    }
}

/// A UDP reply larger than the payload size the query advertised: asked again over TCP.
struct OversizedReply: Error {}

/// Waits on a UDP channel for the reply to one query; datagrams from any other address are
/// dropped. Runs on the channel's event loop.
final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let server: SocketAddress
    private let matcher: DNSReplyMatcher

    init(server: SocketAddress, matcher: DNSReplyMatcher) {
        self.server = server
        self.matcher = matcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server else { return }
        let bytes = envelope.data
        if bytes.readableBytes > DNSTransport.datagramLimit {
            // Cut short by the receive buffer: the server ignored the payload size we advertised.
            // Only the header is whole; a response with our id is taken as truncated (TC).
            guard bytes.getInteger(at: bytes.readerIndex, as: UInt16.self) == matcher.id,
                let flags = bytes.getInteger(at: bytes.readerIndex + 2, as: UInt16.self), flags & 0x8000 != 0
            else { return }
            matcher.promise.fail(
                DiscoveryError(
                    .invalidResponse, "UDP reply over the advertised size", cause: OversizedReply()))
            return
        }
        matcher.accept(bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        matcher.promise.fail(error)
        context.close(promise: nil)
    }
}

/// Waits on a TCP connection for the reply to one query, reassembling the two-byte length
/// prefix (RFC 1035 section 4.2.2) across reads. Runs on the channel's event loop.
final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let server: SocketAddress
    private let matcher: DNSReplyMatcher
    private var received: ByteBuffer?

    init(server: SocketAddress, matcher: DNSReplyMatcher) {
        self.server = server
        self.matcher = matcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        while let length = received!.getInteger(at: received!.readerIndex, as: UInt16.self),
            let message = received!.getSlice(at: received!.readerIndex + 2, length: Int(length))
        {
            received!.moveReaderIndex(forwardBy: 2 + Int(length))
            matcher.accept(message)
        }
        received!.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        matcher.promise.fail(
            DiscoveryError(.unavailable, "\(server.dnsDescription) closed the connection before answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        matcher.promise.fail(error)
        context.close(promise: nil)
    }
}
