import NIOCore
import NIOHTTP2

/// One call's state inside ``GRPCConnectionHandler``: where its answers go, and what has
/// arrived so far.
///
/// Touched only on the connection's event loop (hence `@unchecked Sendable`: the object is
/// handed to that loop by the task that made it, and read nowhere else).
final class GRPCCall: @unchecked Sendable {
    /// Where the call's messages and its end go.
    enum Delivery {
        /// One message, then the status: the promise gets the message or the failure.
        case unary(EventLoopPromise<ByteBuffer>)
        /// Each message as it comes, then the end (an error unless the status is OK).
        case stream(AsyncThrowingStream<ByteBuffer, any Error>.Continuation)
        /// Each message to a function run on the event loop, which returns `false` to end the
        /// call (or throws to fail it); then the end: `true` when the function ended it,
        /// `false` when the server did with OK, the error otherwise. No task hop per message.
        case callback(@Sendable (ByteBuffer) throws -> Bool, end: EventLoopPromise<Bool>)
    }

    let delivery: Delivery
    var streamID: HTTP2StreamID?
    var reader = GRPCMessageReader()
    /// Whether the response headers (`:status`) came; the next HEADERS are the trailers.
    var receivedHeaders = false
    /// The unary call's message, once read.
    var response: ByteBuffer?
    /// Whether this side sent END_STREAM.
    var halfClosed = false
    var finished = false
    /// The stream's inbound window as the server sees it: NIOHTTP2's own figure from its last
    /// `NIOHTTP2WindowUpdatedEvent`, plus what this client granted since.
    var window = GRPCConnectionHandler.windowSize
    /// Bytes of messages handed to a `.stream` reader and not yet taken by it. The window is
    /// not given back for them until they are: a slow reader holds the server back rather than
    /// letting messages pile up here.
    var heldBytes = 0
    var deadlineTask: Scheduled<Void>?

    init(_ delivery: Delivery) {
        self.delivery = delivery
    }
}
