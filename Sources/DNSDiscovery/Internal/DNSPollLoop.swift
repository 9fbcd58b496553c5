import Discovery
import Logging

/// The watch both DNS instancers run: ask, publish, wait, ask again.
///
/// An answer is published unless it differs from the last published set only in its `ttl`
/// metadata (a caching resolver counts TTLs down); then the set is confirmed instead. The next
/// question comes when the answer's TTL runs out, clamped to `minimumInterval...maximumInterval`
/// and lengthened by up to `jitter` of itself. A failure is a failure event and a backoff from
/// `minimumInterval` to `maximumInterval`; the last good set stays, and the same set after it
/// is published again (the recovery is news). A negative answer's reason is logged once.
struct DNSPollLoop: Sendable {
    /// What is watched, for the log.
    let name: String
    let minimumInterval: Duration
    let maximumInterval: Duration
    let jitter: Double
    let logger: Logger

    func run(cache: InstanceCache, refresh: () async throws(DiscoveryError) -> SRVRecordResolver.Answer) async
    {
        var backoff = Backoff(initial: minimumInterval, maximum: maximumInterval)
        var lastNegative: String?
        var published: [Instance]?
        while !Task.isCancelled {
            var delay: Duration
            do {
                let answer = try await refresh()
                if let negative = answer.negative, negative != lastNegative {
                    logger.notice(
                        "no instances: \(negative)", metadata: DiscoveryLogEvent.noInstances.metadata())
                }
                lastNegative = answer.negative
                if published.map({ Self.sameButTTL($0, answer.instances) }) != true {
                    published = answer.instances
                    cache.update(answer.instances)
                } else {
                    cache.confirm()
                }
                backoff.reset()
                delay = min(max(answer.ttl, minimumInterval), maximumInterval)
                delay += delay * Double.random(in: 0...max(jitter, 0))
                logger.debug(
                    "DNS answer",
                    metadata: [
                        "sd.name": "\(name)", "sd.instances": "\(answer.instances.count)",
                        "sd.next": "\(delay)",
                    ])
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "DNS query failed; retrying", metadata: ["sd.name": "\(name)", "sd.error": "\(error)"])
                cache.fail(error)
                published = nil
                delay = backoff.next()
            }
            try? await Task.sleep(for: delay)
        }
    }

    /// Whether two sets are the same but for their `ttl` metadata.
    static func sameButTTL(_ lhs: [Instance], _ rhs: [Instance]) -> Bool {
        func withoutTTL(_ set: [Instance]) -> [Instance] {
            set.map { instance in
                var copy = instance
                copy.metadata["ttl"] = nil
                return copy
            }
        }
        return lhs.count == rhs.count && withoutTTL(lhs) == withoutTTL(rhs)
    }
}
