import Discovery
import NIOCore

extension DNSReplyMatcher {
    /// Settles `promise` with what ``match(_:)`` makes of `bytes`; bytes that are not ours
    /// leave it waiting.
    func accept(_ bytes: ByteBuffer, into promise: EventLoopPromise<DNSMessage>) {
        switch bytes.withUnsafeReadableBytes({ match($0) }) {
        case .success(let message): promise.succeed(message)
        case .failure(let error): promise.fail(error)
        case nil: break
        }
    }
}

/// Waits on a UDP channel for the reply to one query; datagrams from any other address are
/// dropped. Runs on the channel's event loop.
final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let server: SocketAddress
    private let matcher: DNSReplyMatcher
    private let promise: EventLoopPromise<DNSMessage>

    init(server: SocketAddress, matcher: DNSReplyMatcher, promise: EventLoopPromise<DNSMessage>) {
        self.server = server
        self.matcher = matcher
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server else { return }
        let bytes = envelope.data
        if bytes.readableBytes > DNSTransport.datagramLimit {
            // Cut short by the receive buffer: the server ignored the payload size we advertised.
            // Only the header is whole; a response with our id is taken as truncated (TC).
            if bytes.withUnsafeReadableBytes({ matcher.isOurResponseHeader($0) }) {
                promise.fail(DiscoveryError.oversizedReply)
            }
            return
        }
        matcher.accept(bytes, into: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// Waits on a TCP connection for the reply to one query, reassembling the two-byte length
/// prefix (RFC 1035 section 4.2.2) across reads. Runs on the channel's event loop.
final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let server: SocketAddress
    private let matcher: DNSReplyMatcher
    private let promise: EventLoopPromise<DNSMessage>
    private var received: ByteBuffer?

    init(server: SocketAddress, matcher: DNSReplyMatcher, promise: EventLoopPromise<DNSMessage>) {
        self.server = server
        self.matcher = matcher
        self.promise = promise
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
            matcher.accept(message, into: promise)
        }
        received!.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(
            DiscoveryError(.unavailable, "\(server.dnsDescription) closed the connection before answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
