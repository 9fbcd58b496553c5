import Discovery

/// A table built once from one set of endpoints and shared by every pick stripe: Maglev's
/// lookup table, or weighted round robin's sequence. ``entries`` holds positions in
/// ``endpoints``; a stripe that holds a table picks from it alone, so the table and the
/// endpoints it names always agree.
@usableFromInline
final class SharedTable<Endpoint: Sendable>: Sendable {
    @usableFromInline let generation: UInt64
    @usableFromInline let endpoints: [Endpoint]
    @usableFromInline let addresses: [String]
    @usableFromInline let entries: [UInt32]
    /// Whether ``entries`` name more than one endpoint. Weight-0 endpoints have no entry, so a
    /// table over several endpoints can still name one alone: a walk that skips an avoided
    /// endpoint may start only when this holds, or it never ends.
    @usableFromInline let hasAlternatives: Bool

    init(generation: UInt64, endpoints: [Endpoint], addresses: [String], entries: [UInt32]) {
        self.generation = generation
        self.endpoints = endpoints
        self.addresses = addresses
        self.entries = entries
        let first = entries.first
        hasAlternatives = entries.contains { $0 != first }
    }
}
