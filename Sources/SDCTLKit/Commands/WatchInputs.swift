import Discovery

/// The watch's inputs with back-pressure from the printer to the instancers.
///
/// Each target's feeder forwards one event and then waits until the printer has taken it
/// before it reads the next from its subscription, whose own mailbox keeps only the latest set
/// (contract 1). However slow the reader of stdout, at most one event per target waits here:
/// latest state wins all the way to the printer, and memory stays flat.
// The feeders once drained the subscriptions into an unbounded stream: 22 MB grew to 237 MB in
// 8 s in front of a pipe nobody read.
struct WatchInputs: AsyncSequence, Sendable {
    typealias Element = WatchCommand.Input

    let inputs: AsyncStream<WatchCommand.Input>
    private let credits: [AsyncStream<Void>.Continuation]
    private let creditStreams: [AsyncStream<Void>]

    init(_ inputs: AsyncStream<WatchCommand.Input>, targets: Int) {
        self.inputs = inputs
        var credits: [AsyncStream<Void>.Continuation] = []
        var streams: [AsyncStream<Void>] = []
        for _ in 0..<targets {
            let (stream, continuation) = AsyncStream.makeStream(
                of: Void.self, bufferingPolicy: .bufferingNewest(1))
            credits.append(continuation)
            streams.append(stream)
        }
        self.credits = credits
        self.creditStreams = streams
    }

    /// Forwards `subscription` as target `index`'s events into `input`, one at a time.
    func feed(
        _ subscription: InstanceSubscription, target index: Int,
        into input: AsyncStream<WatchCommand.Input>.Continuation
    ) -> Task<Void, Never> {
        let credit = creditStreams[index]
        return Task {
            var credits = credit.makeAsyncIterator()
            for await event in subscription {
                input.yield(.event(target: index, event))
                guard await credits.next() != nil else { return }
            }
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<WatchCommand.Input>.AsyncIterator
        let credits: [AsyncStream<Void>.Continuation]

        mutating func next() async -> WatchCommand.Input? {
            let input = await base.next()
            // Taken: its feeder may read the next one.
            if case .event(let index, _) = input { credits[index].yield() }
            return input
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: inputs.makeAsyncIterator(), credits: credits)
    }
}
