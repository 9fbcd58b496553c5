import Synchronization

/// Which of a watch's targets have given a first set, for telling a watch that `--timeout`
/// ended after its answers from one whose server never answered.
final class AnsweredTargets: Sendable {
    private let flags: Mutex<[Bool]>

    init(count: Int) { flags = Mutex(Array(repeating: false, count: count)) }

    func answered(_ target: Int) { flags.withLock { $0[target] = true } }

    /// The first target without an answer yet.
    var firstSilent: Int? { flags.withLock { $0.firstIndex(of: false) } }
}
