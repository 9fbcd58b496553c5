import NIOCore

/// The messages of a streaming call, as its reader takes them.
///
/// Taking messages is what lets the server send more: the handler gives a stream's window back
/// only for bytes its reader has taken (``GRPCConnectionHandler/consumed(_:bytes:)``), so a slow
/// reader holds back the server instead of messages piling up in memory. Taken bytes are
/// reported a quarter window at a time, one hop to the event loop per report rather than per
/// message.
struct GRPCResponses: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: AsyncThrowingStream<ByteBuffer, any Error>
    /// Called, from the reader's task, with the bytes taken since the last call.
    let consumed: @Sendable (Int) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let consumed: @Sendable (Int) -> Void
        var unreported = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let message = try await base.next() else { return nil }
            // The 5-byte prefix was held too (GRPCConnectionHandler counts it).
            unreported += message.readableBytes + 5
            if unreported >= GRPCConnectionHandler.windowSize / 4 {
                consumed(unreported)
                unreported = 0
            }
            return message
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), consumed: consumed)
    }
}
