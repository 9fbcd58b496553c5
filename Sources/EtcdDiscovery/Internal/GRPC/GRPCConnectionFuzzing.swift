import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Synchronization

/// The gRPC client's connection, fed bytes as if a server sent them: the entry point of
/// Tests/Fuzz's `GRPCConnectionFuzzer` (libFuzzer), not API.
///
/// One input runs a whole connection on an embedded channel: swift-nio-http2 in client mode
/// and ``GRPCConnectionHandler``, configured as ``GRPCConnection`` configures them, with three
/// calls open once the server's SETTINGS arrive (a unary call with a deadline, a stream read
/// through ``GRPCResponses``, and a watch decoded on the event loop). The input is the server's
/// bytes, cut into reads of a size its first byte picks; a second of time passes after each
/// read, so deadlines, keepalives and the flood guard's refills fire too. Whatever the bytes,
/// the run must end without a crash, a hang or unbounded memory, and every call must end.
@_spi(Fuzzing)
public enum GRPCConnectionFuzzing {
    /// Read sizes an input can pick with its first byte.
    static let readSizes = [1, 7, 64, 1024, Int.max]

    public static func run(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let size = readSizes[Int(first) % readSizes.count]
        let channel = EmbeddedChannel()
        let ready = channel.eventLoop.makePromise(of: Void.self)
        let handler = GRPCConnectionHandler(
            configuration: .init(
                keepaliveInterval: .seconds(10), keepaliveTimeout: .seconds(5), prefaceTimeout: .seconds(5)),
            ready: ready, usable: GRPCConnectionFlag())
        do {
            try channel.pipeline.syncOperations.addHandler(
                NIOHTTP2Handler(mode: .client, connectionConfiguration: GRPCConnection.http2))
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379)).wait()
        } catch {
            preconditionFailure("the embedded connection could not be set up: \(error)")
        }
        let calls = Calls(channel: channel)
        ready.futureResult.assumeIsolated().whenSuccess { calls.start(on: handler) }

        var rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        while !rest.isEmpty, channel.isActive {
            let count = min(size, rest.count)
            var read = channel.allocator.buffer(capacity: count)
            read.writeBytes(UnsafeRawBufferPointer(rebasing: rest.prefix(count)))
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(count))
            // A read the HTTP/2 layer refuses closes the connection, as on a socket.
            do { try channel.writeInbound(read) } catch { channel.close(promise: nil) }
            while (try? channel.readOutbound(as: IOData.self)) != nil {}
            // The stream's reader takes what it was given, so its window opens again.
            calls.drainStream(on: handler)
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        precondition(calls.allEnded, "a call was left open after its connection closed")
    }

    /// The three calls one input runs, and how many have ended.
    private final class Calls {
        let channel: EmbeddedChannel
        var unary: GRPCCall?
        var stream: GRPCCall?
        var responses: AsyncThrowingStream<ByteBuffer, any Error>?
        let ended = Ended()

        final class Ended: Sendable {
            let count = Atomic(0)
            func add() { count.add(1, ordering: .relaxed) }
        }

        init(channel: EmbeddedChannel) { self.channel = channel }

        func start(on handler: GRPCConnectionHandler) {
            let loop = channel.eventLoop
            let headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": EtcdMethod.watch,
                ":authority": "127.0.0.1:2379", "content-type": "application/grpc", "te": "trailers",
            ]
            let message = GRPCMessageWriter.frame([0x0a, 0x01, 0x61], allocator: channel.allocator)

            let promise = loop.makePromise(of: ByteBuffer.self)
            let ended = self.ended
            promise.futureResult.whenComplete { _ in ended.add() }
            let unary = GRPCCall(.unary(promise))
            handler.start(unary, headers: headers, message: message, endStream: true, timeout: .seconds(3))

            let (responses, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
            continuation.onTermination = { _ in ended.add() }
            let stream = GRPCCall(.stream(continuation))
            handler.start(stream, headers: headers, message: message, endStream: false, timeout: nil)

            let end = loop.makePromise(of: Bool.self)
            end.futureResult.whenComplete { _ in ended.add() }
            let watch = GRPCCall(
                .callback(
                    { answer in
                        if case .compacted = try EtcdClient.watchEvent(answer) { return false }
                        return true
                    }, end: end))
            (self.unary, self.stream, self.responses) = (unary, stream, responses)
            handler.start(watch, headers: headers, message: message, endStream: false, timeout: nil)
        }

        func drainStream(on handler: GRPCConnectionHandler) {
            guard let stream, stream.heldBytes > 0 else { return }
            handler.consumed(stream, bytes: stream.heldBytes)
        }

        var allEnded: Bool {
            channel.embeddedEventLoop.run()
            return unary == nil || ended.count.load(ordering: .relaxed) == 3
        }
    }
}
