import NIOCore

/// A streaming call (etcd's Watch and LeaseKeepAlive): messages go out with ``send(_:)``, come
/// back through ``responses``, which ends when the server ends the call (throwing unless its
/// status is OK) or the connection is lost.
///
/// Leaving the loop over ``responses``, or cancelling the task in it, resets the stream, as
/// ``cancel()`` does.
struct GRPCStream: Sendable {
    fileprivate let call: GRPCCall
    fileprivate let handler: NIOLoopBound<GRPCConnectionHandler>
    let responses: GRPCResponses

    init(
        call: GRPCCall, handler: NIOLoopBound<GRPCConnectionHandler>,
        responses: AsyncThrowingStream<ByteBuffer, any Error>
    ) {
        self.call = call
        self.handler = handler
        self.responses = GRPCResponses(base: responses) { bytes in
            handler.eventLoop.execute { handler.value.consumed(call, bytes: bytes) }
        }
    }

    /// Sends a message (framed by ``GRPCMessageWriter``); after the call ended, nothing.
    func send(_ message: ByteBuffer) {
        let (call, handler) = (self.call, self.handler)
        handler.eventLoop.execute { handler.value.send(call, message) }
    }

    /// Ends the call from this side.
    func cancel() {
        let (call, handler) = (self.call, self.handler)
        handler.eventLoop.execute { handler.value.cancel(call) }
    }
}
