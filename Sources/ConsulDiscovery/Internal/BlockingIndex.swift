/// The index rules of Consul's blocking queries (PROTOCOLS.md; Consul's "Blocking Queries:
/// implementation details").
enum BlockingIndex {
    /// The index to send with the next query after an answer carrying `received`, given that
    /// the query sent `previous` (0: not a blocking query).
    ///
    /// An index that went backwards (a snapshot restore, another server's view) resets to 0, so
    /// the next query reads at once instead of blocking on an index that will not come; otherwise
    /// it is never below 1, since blocking on 0 answers at once and spins.
    static func next(after previous: UInt64, received: UInt64) -> (index: UInt64, wentBackwards: Bool) {
        if received < previous { return (0, true) }
        return (max(received, 1), false)
    }
}
