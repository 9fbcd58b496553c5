import Discovery
import NIOCore
import NIOPosix

extension DNSClient {
    /// How a client's queries reach the servers. Either way a reply is checked the same way
    /// (its id, its question, its size) and every wait ends at the query's deadline.
    public struct Transport: Sendable {
        enum Kind: Sendable {
            case eventLoops(any EventLoopGroup)
            case threadPerExchange
        }

        let kind: Kind

        /// Channels on `group`'s event loops: for a long-lived client, whose queries share the
        /// loops with the rest of the process.
        public static func eventLoops(_ group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
            -> Transport
        {
            Transport(kind: .eventLoops(group))
        }

        /// Each exchange on a socket and a thread of its own, waited on with poll(2): nothing of
        /// swift-nio is started. For a process that asks once and exits, where setting up
        /// swift-nio's channels costs more than the query (`sdctl resolve srv://`; the figures
        /// are in docs/benchmarks.md).
        public static var threadPerExchange: Transport { Transport(kind: .threadPerExchange) }
    }

    /// Sends `query` (whose id is `id` and question `question`) to `server` and returns the
    /// reply, by the client's transport.
    func exchange(
        _ query: [UInt8], id: UInt16, question: DNSQuestion, server: SocketAddress, overTCP: Bool,
        deadline: ContinuousClock.Instant
    ) async throws(DiscoveryError) -> DNSMessage {
        let matcher = DNSReplyMatcher(id: id, question: question)
        switch transport.kind {
        case .eventLoops(let group):
            let left = max(deadline - .now, .zero)
            return try await DNSTransport.exchange(
                query, matcher: matcher, server: server, overTCP: overTCP,
                deadline: .now() + .nanoseconds(Int64(left.wholeNanoseconds)), group: group)
        case .threadPerExchange:
            return try await DNSSocketExchange.onNewThread(
                query, matcher: matcher, server: server, overTCP: overTCP, deadline: deadline)
        }
    }
}
