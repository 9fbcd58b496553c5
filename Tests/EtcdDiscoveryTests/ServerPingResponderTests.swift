import NIOCore
import NIOEmbedded
import Testing

@testable import EtcdDiscovery

@Suite("ServerPingResponder")
struct ServerPingResponderTests {
    static func frame(type: UInt8, flags: UInt8, stream: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [
            UInt8(length >> 16), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags, 0, 0, 0,
            stream,
        ]
            + payload
    }

    static let settings = frame(type: 0x4, flags: 0, payload: [0, 3, 0, 0, 0, 100])
    static let data = frame(type: 0x0, flags: 0x1, stream: 1, payload: Array("hello, etcd".utf8))
    static let empty = frame(type: 0x4, flags: 0x1, payload: [])
    static let ping = frame(type: 0x6, flags: 0, payload: [1, 2, 3, 4, 5, 6, 7, 8])
    static let pingAck = frame(type: 0x6, flags: 0x1, payload: [9, 9, 9, 9, 9, 9, 9, 9])

    /// Feeds `bytes` in pieces of `size` and returns what went up the pipeline and what was written.
    func run(_ bytes: [UInt8], pieces size: Int) throws -> (read: [UInt8], written: [UInt8]) {
        let channel = EmbeddedChannel(handler: ServerPingResponder())
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        var read: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) {
            read += Array(buffer.readableBytesView)
        }
        var written: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            written += Array(buffer.readableBytesView)
        }
        _ = try channel.finish()
        return (read, written)
    }

    @Test(
        "PINGs are answered and removed; every other frame passes byte for byte, however split",
        arguments: [1, 2, 5, 9, 17, 1000])
    func answersPings(pieceSize: Int) throws {
        let stream = Self.settings + Self.ping + Self.data + Self.pingAck + Self.empty + Self.ping + Self.data
        let (read, written) = try run(stream, pieces: pieceSize)
        #expect(read == Self.settings + Self.data + Self.pingAck + Self.empty + Self.data)
        let ack = Self.frame(type: 0x6, flags: 0x1, payload: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(written == ack + ack)
    }
}
