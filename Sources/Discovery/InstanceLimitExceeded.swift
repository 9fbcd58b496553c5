/// The ``DiscoveryError/cause`` of an answer that lists more instances than a client takes in
/// one answer: the error is ``DiscoveryError/Code/invalidResponse``, and nothing of the answer
/// was kept.
///
/// Every backend whose answers come from a server (etcd, Consul, Eureka) stops at its
/// configuration's `maximumInstances`, ``Instance/defaultMaximumPerAnswer`` unless set, so a
/// hostile or broken server cannot make the client hold millions of instances: the limit is
/// found before the answer is decoded (docs/benchmarks.md has the memory per 100,000).
public struct InstanceLimitExceeded: Error, Sendable, Hashable, CustomStringConvertible {
    /// The most the client takes.
    public var limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public var description: String { "more than \(limit) instances in one answer" }
}

extension Instance {
    /// How many instances a client takes in one answer unless configured otherwise.
    public static let defaultMaximumPerAnswer = 200_000
}
