import NIOCore

/// Answers the server's HTTP/2 PING frames beneath the HTTP/2 handler, which never sees them.
///
/// Why it exists: etcd's gRPC server (grpc-go) sends a PING to estimate bandwidth-delay product
/// for nearly every request it receives. swift-nio-http2 counts inbound PINGs against a
/// denial-of-service limit of 200 in 30 seconds, which grpc-swift-nio-transport gives clients no
/// way to raise; past it, the client sends GOAWAY(ENHANCE_YOUR_CALM) and drops the connection with
/// every call on it. `sdctl bench propagation` lost its connection after about 50 rounds (strace:
/// 201 PING ACKs, then the GOAWAY). Answering the PINGs here keeps the connection; ACKs to our
/// own PINGs, and every other frame, pass through untouched.
///
/// Drop it once the transport lets a client configure that limit.
final class ServerPingResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Where the parser is in the server's frame stream (RFC 9113 §4.1: a 9-byte header of
    /// 24-bit length, type, flags and stream id, then the payload).
    private enum State {
        case header(ByteBuffer)
        case forwarding(remaining: Int)
        case ping(ByteBuffer)
    }

    static let headerLength = 9
    static let pingType: UInt8 = 0x6
    static let ackFlag: UInt8 = 0x1
    static let pingLength = 8

    private var state: State = .header(ByteBuffer())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        var forward: ByteBuffer?
        func pass(_ slice: ByteBuffer) {
            if forward == nil { forward = slice } else { forward!.writeImmutableBuffer(slice) }
        }
        while input.readableBytes > 0 {
            switch state {
            case .forwarding(let remaining):
                let count = min(remaining, input.readableBytes)
                pass(input.readSlice(length: count)!)
                state = remaining == count ? .header(ByteBuffer()) : .forwarding(remaining: remaining - count)
            case .header(var header):
                var part = input.readSlice(
                    length: min(Self.headerLength - header.readableBytes, input.readableBytes))!
                header.writeBuffer(&part)
                guard header.readableBytes == Self.headerLength else {
                    state = .header(header)
                    continue
                }
                let bytes = header.getBytes(at: header.readerIndex, length: 5)!
                let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
                if bytes[3] == Self.pingType, bytes[4] & Self.ackFlag == 0, length == Self.pingLength {
                    state = .ping(ByteBuffer())
                } else {
                    pass(header)
                    state = length == 0 ? .header(ByteBuffer()) : .forwarding(remaining: length)
                }
            case .ping(var opaque):
                var part = input.readSlice(
                    length: min(Self.pingLength - opaque.readableBytes, input.readableBytes))!
                opaque.writeBuffer(&part)
                guard opaque.readableBytes == Self.pingLength else {
                    state = .ping(opaque)
                    continue
                }
                var ack = context.channel.allocator.buffer(capacity: Self.headerLength + Self.pingLength)
                ack.writeBytes([0, 0, UInt8(Self.pingLength), Self.pingType, Self.ackFlag, 0, 0, 0, 0])
                ack.writeBuffer(&opaque)
                context.writeAndFlush(wrapOutboundOut(ack), promise: nil)
                state = .header(ByteBuffer())
            }
        }
        if let forward { context.fireChannelRead(wrapInboundOut(forward)) }
    }
}
