import Discovery
import DiscoveryHTTP
import NIOHTTP1

extension ConsulClient {
    /// A health answer and the index to block on next.
    public struct HealthAnswer: Sendable, Hashable {
        public var entries: [ConsulServiceEntry]
        /// `X-Consul-Index`, as sent (0 when a server sent none or 0).
        public var index: UInt64
        /// `X-Consul-LastContact`: how long before answering the server that answered last heard
        /// from its leader (0 from the leader; more from a follower, with `stale` reads); `nil`
        /// when absent (the streaming backend) or not a count of milliseconds.
        public var lastContact: Duration?
    }

    /// `GET /v1/health/service/<name>`: at once without `index`, otherwise a blocking query that
    /// the agent answers when its index passes `index` or `wait` (plus up to wait/16 of the
    /// agent's jitter) runs out. The request's own deadline allows for both.
    ///
    /// Entries failing the query's tags or passing filter are dropped here too, for servers that
    /// ignore them; an entry that does not decode (a port that is not a number) is skipped and
    /// logged at debug, never the whole answer. The answer is decoded as it arrives, entry by
    /// entry; more than ``Configuration/maximumInstances`` entries is an error
    /// (`InstanceLimitExceeded`).
    public func health(_ query: ConsulHealthQuery, index: UInt64? = nil, wait: Duration? = nil)
        async throws(DiscoveryError) -> HealthAnswer
    {
        let answer = try await health(query, index: index, wait: wait) { $0 }
        return HealthAnswer(entries: answer.values, index: answer.index, lastContact: answer.lastContact)
    }

    /// A health answer as `transform` makes it, entry by entry as it arrives: the instancer
    /// keeps instances only, never every entry at once.
    func health<Value: Sendable>(
        _ query: ConsulHealthQuery, index: UInt64?, wait: Duration?,
        transform: @escaping @Sendable (ConsulServiceEntry) -> Value?
    ) async throws(DiscoveryError) -> (values: [Value], decoded: Int, index: UInt64, lastContact: Duration?) {
        var parameters: [(String, String?)] = []
        if let index {
            parameters.append(("index", String(index)))
            if let wait { parameters.append(("wait", GoSyntax.duration(wait))) }
        }
        if query.passingOnly { parameters.append(("passing", nil)) }
        for tag in query.tags { parameters.append(("tag", tag)) }
        if let datacenter = query.datacenter { parameters.append(("dc", datacenter)) }
        if query.stale { parameters.append(("stale", nil)) }
        if let near = query.near { parameters.append(("near", near)) }
        var deadline = configuration.requestTimeout
        if index != nil {
            let blocking = wait ?? .seconds(300)
            deadline += blocking + blocking / 16
        }
        let answer = try await transport.sendForElements(
            "/v1/health/service/\(PercentEncoding.encode(query.service))", query: parameters,
            timeout: deadline, what: "health of '\(query.service)'",
            elements: "entries of '\(query.service)'",
            of: ConsulServiceEntry.self, limit: configuration.maximumInstances
        ) { (entry: ConsulServiceEntry) -> Value? in
            guard query.tags.allSatisfy(entry.tags.contains), !query.passingOnly || entry.isPassing else {
                return nil
            }
            return transform(entry)
        }
        let received = answer.headers.first(name: "X-Consul-Index").flatMap { UInt64($0) } ?? 0
        // Milliseconds, as Consul writes them; a value past a day is not a lag but noise.
        let lastContact = answer.headers.first(name: "X-Consul-LastContact").flatMap { UInt64($0) }
            .map { Duration.milliseconds(min($0, 86_400_000)) }
        return (answer.values, answer.decoded, received, lastContact)
    }
}
