import NIOCore

/// gRPC's length-prefixed messages (PROTOCOL-HTTP2.md: a compressed flag byte, a 4-byte
/// big-endian length, then the message) in and out of HTTP/2 DATA frames.
///
/// A message may span several DATA frames, and a frame may hold several messages: the reader
/// keeps what it has not yet made into a message.
struct GRPCMessageReader {
    /// The largest message accepted; etcd's own default for requests is 1.5 MiB and its
    /// responses are bounded by `--max-recv-bytes` on the client side in Go (math.MaxInt32).
    /// 64 MiB bounds what a broken server can make this client buffer.
    static let maximumLength = 64 << 20

    private var buffer: ByteBuffer?

    /// Appends a DATA frame's payload.
    mutating func append(_ data: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = data
        } else {
            var data = data
            buffer!.writeBuffer(&data)
        }
    }

    /// The next whole message, `nil` until one is complete; throws on a compressed message
    /// (none was asked for) or one longer than ``maximumLength``.
    mutating func next() throws(GRPCError) -> ByteBuffer? {
        guard var input = buffer, input.readableBytes >= 5 else { return nil }
        let flag = input.getInteger(at: input.readerIndex, as: UInt8.self)!
        let length = Int(input.getInteger(at: input.readerIndex + 1, as: UInt32.self)!)
        guard flag == 0 else {
            throw GRPCError(.internal, "the server sent a compressed message; none was asked for")
        }
        guard length <= Self.maximumLength else {
            throw GRPCError(
                .resourceExhausted, "a message of \(length) bytes, over the \(Self.maximumLength) limit")
        }
        guard input.readableBytes >= 5 + length else { return nil }
        input.moveReaderIndex(forwardBy: 5)
        let message = input.readSlice(length: length)!
        buffer = input.readableBytes == 0 ? nil : input
        return message
    }

    /// Bytes received that are not yet a whole message.
    var pendingBytes: Int { buffer?.readableBytes ?? 0 }
}

enum GRPCMessageWriter {
    /// `message` with its 5-byte prefix, uncompressed.
    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}
