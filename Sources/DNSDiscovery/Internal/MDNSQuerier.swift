import Discovery
import Logging

/// The browsing half of multicast DNS (RFC 6762 sections 5, 7 and 10) for one DNS-SD service
/// type, confined to its ``MDNSLoop``'s thread.
///
/// - Queries: the first 20-120 ms after start asking for unicast replies (section 5.4), the
///   next a second later, then at intervals
///   doubling up to an hour (section 5.2); each carries the PTR records already known with
///   more than half their TTL left (known-answer suppression, section 7.1), as many as fit
///   one packet of ``maximumQueryBytes``.
/// - Cache: the PTR records of the type, the SRV and TXT records of the instances they name,
///   and (when addresses are resolved) the A and AAAA records of the SRV targets; any other
///   record is ignored. A record lives until its TTL runs out; it is asked for again at 80,
///   85, 90 and 95 % of its TTL (plus up to 2 %). A goodbye (TTL 0) and a record another one
///   with the cache-flush bit replaces end one second later (sections 10.1 and 10.2).
/// - Bound: at most ``Configuration/maximumRecords`` cached records; what a flood brings
///   beyond that is dropped, logged and reported as a failure event (InstanceLimitExceeded)
///   until the cache has room again.
/// - Answers count only from port 5353 (section 11), from any host on the link.
///
/// The first set is published ``Configuration/settle`` after the first query, so that it holds
/// what the link answered; when nothing has answered by then, half a second after the third
/// query (about 3.5 s after the first) instead. After that, every change as it arrives.
final class MDNSQuerier: MDNSDriver {
    enum Command: Sendable { case stop }

    /// A cache entry's identity: owner name (case folded), type and data.
    private struct Key: Hashable {
        var name: String
        var type: DNSRecordType
        var data: DNSResourceRecord.RecordData
    }

    private struct Entry {
        var record: DNSResourceRecord
        var received: ContinuousClock.Instant
        var expires: ContinuousClock.Instant
        /// When to ask for it again, soonest last.
        var refreshes: [ContinuousClock.Instant]
        /// The interface a link-local IPv6 address came in on: its zone (`fe80::1%eth0`).
        var zone: String?

        /// The address of an A or AAAA record as text, a link-local one with its zone.
        var addressText: String? {
            guard let text = record.data.addressText else { return nil }
            if case .aaaa(let high, _) = record.data, high >> 54 == 0x3FA, let zone {
                return "\(text)%\(zone)"
            }
            return text
        }
    }

    /// A query packet stops taking known answers at this size (an Ethernet MTU's worth of
    /// payload); the rest are answered again, which costs traffic, not correctness.
    static let maximumQueryBytes = 1400
    static let longestQueryInterval: Duration = .seconds(3600)
    /// How long after a query its answers are waited for: responders delay shared answers by
    /// up to 120 ms (section 6), and a loaded link adds more.
    static let lateAnswers: Duration = .milliseconds(500)

    private let configuration: MDNSInstancer.Configuration
    private let serviceType: String
    private let serviceKey: String
    private let serviceLabelCount: Int
    private let publish: @Sendable ([Instance]) -> Void
    private let fail: @Sendable (DiscoveryError) -> Void
    private let logger: Logger

    private var cache: [Key: Entry] = [:]
    private var nextQuery: ContinuousClock.Instant = .now
    private var queryInterval: Duration = .seconds(1)
    /// Whether a query went out yet: the first asks for unicast replies (section 5.4), which
    /// responders send at once, whatever they multicast within the last second.
    private var queried = false
    private var settleAt: ContinuousClock.Instant?
    /// Whether the first set is out (or due): after ``Configuration/settle``.
    private var settled = false
    /// Whether settle was put off once because the link had not answered.
    private var settleExtended = false
    private var published: [Instance]?
    private var changed = false
    /// Questions to send at the next tick, beside the PTR question when that is due.
    private var questions: [DNSQuestion] = []
    /// The earliest expiry or refresh in the cache, kept by ``rescan()``.
    private var nextCacheEvent: ContinuousClock.Instant?
    private var overflowing = false
    private var dropped = 0

    init(
        configuration: MDNSInstancer.Configuration, logger: Logger,
        publish: @escaping @Sendable ([Instance]) -> Void, fail: @escaping @Sendable (DiscoveryError) -> Void
    ) {
        self.configuration = configuration
        serviceType = DNSName.relative(configuration.serviceType)
        serviceKey = DNSSDRecordResolver.key(serviceType)
        serviceLabelCount = (try? DNSName.labels(serviceType).count) ?? 0
        self.publish = publish
        self.fail = fail
        self.logger = logger
    }

    var deadline: ContinuousClock.Instant? {
        if !questions.isEmpty || (settled && changed) { return .now }
        var soonest = nextQuery
        if let settleAt, !settled { soonest = min(soonest, settleAt) }
        if let nextCacheEvent { soonest = min(soonest, nextCacheEvent) }
        return soonest
    }

    func start(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        nextQuery = now + .milliseconds(Int.random(in: 20...120))
        settleAt = nextQuery + configuration.settle
        return []
    }

    func handle(_ command: Command, now: ContinuousClock.Instant) -> (outgoing: [MDNSOutgoing], stop: Bool) {
        ([], true)
    }

    func tick(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        var expired = false
        if let event = nextCacheEvent, event <= now {
            for (key, entry) in cache {
                if entry.expires <= now {
                    cache[key] = nil
                    expired = true
                } else if let refresh = entry.refreshes.last, refresh <= now {
                    cache[key]!.refreshes.removeLast()
                    ask(entry.record.name, entry.record.type)
                }
            }
            rescan()
        }
        if expired {
            changed = true
            // Expiry alone (no packet since) ends a flood episode too.
            checkRoom()
        }
        var outgoing: [MDNSOutgoing] = []
        var askService = false
        if nextQuery <= now {
            askService = true
            nextQuery = now + queryInterval
            queryInterval = min(queryInterval * 2, Self.longestQueryInterval)
        }
        if askService || !questions.isEmpty {
            outgoing.append(.multicast(query(askService: askService, unicastResponse: !queried, now: now)))
            queried = true
            questions = []
        }
        if !settled, let settleAt, now >= settleAt {
            if !settleExtended && currentInstances().isEmpty {
                // Nothing yet: the answers may have been held back (a responder multicasts a
                // record at most once a second, section 6) or, sent unicast to port 5353, gone
                // to another socket on this host sharing it (section 15.1). The query after
                // next is answered by multicast, so an empty link is reported after it.
                settleExtended = true
                self.settleAt = nextQuery + Self.lateAnswers
            } else {
                settled = true
                changed = true
            }
        }
        if settled && changed { publishIfChanged() }
        return outgoing
    }

    func receive(_ message: DNSMessage, from peer: MDNSSockets.Peer, now: ContinuousClock.Instant)
        -> [MDNSOutgoing]
    {
        // Section 11: responses from another port are not multicast DNS; section 18: a
        // response's opcode and rcode are zero.
        guard message.isResponse, peer.port == MDNSSockets.port, message.opcode == 0,
            message.responseCode == .noError
        else { return [] }
        let records = message.answers + message.additionals
        // In order of dependence: the PTR records name the instances whose SRV and TXT records
        // are wanted, and the SRV records the targets whose addresses are.
        var instances = Set<String>()
        for record in records where record.type == .ptr && DNSSDRecordResolver.key(record.name) == serviceKey
        {
            store(record, from: peer, now: now)
        }
        for entry in cache.values where entry.record.type == .ptr {
            if case .ptr(let name) = entry.record.data { instances.insert(DNSSDRecordResolver.key(name)) }
        }
        var targets = Set<String>()
        for record in records where record.type == .srv || record.type == .txt {
            // An instance of the type's records may come before the PTR that names it (Avahi
            // sends them in separate packets): they are kept, and count when the PTR comes.
            guard instances.contains(DNSSDRecordResolver.key(record.name)) || isInstanceName(record.name)
            else { continue }
            store(record, from: peer, now: now)
        }
        if configuration.resolve != .none {
            for entry in cache.values where entry.record.type == .srv {
                if case .srv(_, _, _, let target) = entry.record.data {
                    targets.insert(DNSSDRecordResolver.key(target))
                }
            }
            let types: [DNSRecordType] =
                switch configuration.resolve {
                case .a: [.a]
                case .aaaa: [.aaaa]
                default: [.a, .aaaa]
                }
            for record in records where types.contains(record.type) {
                guard targets.contains(DNSSDRecordResolver.key(record.name)) else { continue }
                store(record, from: peer, now: now)
            }
        }
        askForMissing(now: now)
        rescan()
        if !settled, settleExtended, changed, let settleAt, settleAt > now + Self.lateAnswers {
            // The first answers after an empty settle: the rest of this round, then publish.
            self.settleAt = now + Self.lateAnswers
        }
        checkRoom()
        return []
    }

    /// Ends a flood episode once the cache has room again (records dropped or expired).
    private func checkRoom() {
        guard overflowing, cache.count < configuration.maximumRecords else { return }
        overflowing = false
        // Published again even if unchanged: the failure event came after the last set.
        published = nil
        changed = true
        logger.notice("mDNS cache has room again", metadata: ["sd.name": "\(serviceType)"])
    }

    /// Whether `name` is one label under the service type: an instance's name.
    private func isInstanceName(_ name: String) -> Bool {
        guard DNSSDRecordResolver.key(name).hasSuffix("." + serviceKey),
            let labels = try? DNSName.labels(name)
        else { return false }
        return labels.count == serviceLabelCount + 1
    }

    /// Caches one record (section 10): a goodbye or a cache-flush ends what it replaces a
    /// second later; a new record beyond the bound is dropped.
    private func store(_ record: DNSResourceRecord, from peer: MDNSSockets.Peer, now: ContinuousClock.Instant)
    {
        var record = record
        let flush = record.recordClass & 0x8000 != 0
        record.recordClass &= 0x7FFF
        guard record.recordClass == 1 else { return }
        let key = Key(name: DNSSDRecordResolver.key(record.name), type: record.type, data: record.data)
        if flush {
            for (other, entry) in cache
            where other.name == key.name && other.type == key.type && other != key
                && entry.received < now - .seconds(1) && entry.expires > now + .seconds(1)
            {
                cache[other]!.expires = now + .seconds(1)
                cache[other]!.refreshes = []
                changed = true
            }
        }
        if record.ttl == 0 {
            if cache[key] != nil {
                cache[key]!.expires = min(cache[key]!.expires, now + .seconds(1))
                cache[key]!.refreshes = []
            }
            return
        }
        if cache[key] == nil {
            guard cache.count < configuration.maximumRecords else {
                dropped += 1
                if !overflowing {
                    overflowing = true
                    let error = DiscoveryError(
                        .invalidResponse,
                        "more than \(configuration.maximumRecords) mDNS records for \(serviceType) on the link; dropping the rest",
                        cause: InstanceLimitExceeded(limit: configuration.maximumRecords))
                    logger.warning(
                        "mDNS cache full; dropping records",
                        metadata: [
                            "sd.name": "\(serviceType)", "sd.limit": "\(configuration.maximumRecords)",
                        ])
                    fail(error)
                }
                return
            }
            changed = true
        } else if cache[key]!.record.ttl != record.ttl {
            // A new TTL changes the instance's `ttl` metadata.
            changed = true
        }
        let lifetime = Duration.seconds(record.ttl)
        let refreshes = [95, 90, 85, 80].map { percent in
            now + lifetime * (Double(percent) + Double.random(in: 0...2)) / 100
        }
        cache[key] = Entry(
            record: record, received: now, expires: now + lifetime, refreshes: refreshes, zone: peer.interface
        )
    }

    /// Asks for the SRV and TXT records of instances that have none yet, and for the addresses
    /// of targets that have none when they are resolved.
    private func askForMissing(now: ContinuousClock.Instant) {
        var owners: [String: Set<DNSRecordType>] = [:]
        for key in cache.keys { owners[key.name, default: []].insert(key.type) }
        for (key, entry) in cache where key.type == .ptr {
            guard case .ptr(let name) = entry.record.data else { continue }
            let have = owners[DNSSDRecordResolver.key(name)] ?? []
            if !have.contains(.srv) { ask(name, .srv) }
            if !have.contains(.txt) { ask(name, .txt) }
        }
        guard configuration.resolve != .none else { return }
        for (key, entry) in cache where key.type == .srv {
            guard case .srv(_, _, _, let target) = entry.record.data else { continue }
            let have = owners[DNSSDRecordResolver.key(target)] ?? []
            if configuration.resolve != .aaaa, !have.contains(.a) { ask(target, .a) }
            if configuration.resolve != .a, !have.contains(.aaaa) { ask(target, .aaaa) }
        }
    }

    private func ask(_ name: String, _ type: DNSRecordType) {
        let question = DNSQuestion(name: name, type: type)
        guard !questions.contains(where: { $0.matches(question) }) else { return }
        // Bounded by the cache: every question is about a cached record or one it names.
        questions.append(question)
    }

    /// The earliest expiry or refresh.
    private func rescan() {
        var soonest: ContinuousClock.Instant?
        for entry in cache.values {
            let event = min(entry.expires, entry.refreshes.last ?? entry.expires)
            if soonest == nil || event < soonest! { soonest = event }
        }
        nextCacheEvent = soonest
    }

    /// A query for the service type's PTR records (when due) and the pending questions, with
    /// the known answers that fit.
    func query(askService: Bool, unicastResponse: Bool = false, now: ContinuousClock.Instant) -> [UInt8] {
        var writer = DNSMessageWriter(flags: 0)
        var asked = questions
        if askService { asked.insert(DNSQuestion(name: serviceType, type: .ptr), at: 0) }
        for question in asked.prefix(32) {
            try? writer.question(question.name, type: question.type, unicastResponse: unicastResponse)
        }
        guard askService else { return writer.bytes }
        for (key, entry) in cache where key.type == .ptr {
            let left = entry.expires - now
            // Section 7.1: only answers with more than half their TTL left suppress a reply.
            guard left > .seconds(entry.record.ttl) / 2 else { continue }
            var known = entry.record
            known.ttl = UInt32(left.components.seconds)
            var trial = writer
            guard (try? trial.record(known, to: .answer)) != nil, trial.bytes.count <= Self.maximumQueryBytes
            else {
                break
            }
            writer = trial
        }
        return writer.bytes
    }

    /// How many records the cache holds (at most ``Configuration/maximumRecords``).
    var cachedRecords: Int { cache.count }

    /// The instances the cache describes, published if they differ from the last set.
    private func publishIfChanged() {
        changed = false
        guard !overflowing else { return }
        let instances = currentInstances()
        guard instances != published else { return }
        published = instances
        publish(instances)
    }

    /// Each PTR-named instance with an SRV record: `target:port` or, with address resolution,
    /// `address:port` per address of the target; TXT pairs as metadata, as unicast DNS-SD has
    /// them (``DNSSDRecordResolver/metadata(name:target:ttl:txt:)``).
    func currentInstances() -> [Instance] {
        var byOwner: [String: [Entry]] = [:]
        for (key, entry) in cache where key.type != .ptr { byOwner[key.name, default: []].append(entry) }
        var instances: [Instance] = []
        for (key, entry) in cache where key.type == .ptr {
            guard case .ptr(let name) = entry.record.data else { continue }
            let owned = byOwner[DNSSDRecordResolver.key(name)] ?? []
            let txt = owned.map(\.record).filter { $0.type == .txt }
            let id = (try? DNSName.labels(name).first.map { String(decoding: $0, as: UTF8.self) }) ?? nil
            for record in owned.map(\.record) where record.type == .srv {
                guard case .srv(let priority, let weight, let port, let target) = record.data, port != 0,
                    target != "."
                else { continue }
                var hosts = [target]
                if configuration.resolve != .none {
                    hosts = (byOwner[DNSSDRecordResolver.key(target)] ?? []).compactMap {
                        configuration.resolve == .aaaa && $0.record.type == .a
                            || configuration.resolve == .a && $0.record.type == .aaaa ? nil : $0.addressText
                    }.sorted()
                }
                let metadata = DNSSDRecordResolver.metadata(
                    name: name, target: target, ttl: record.ttl, txt: txt)
                for host in hosts {
                    instances.append(
                        Instance(
                            address: HostPort(host: host, port: port).description, id: id ?? name,
                            metadata: metadata, weight: Int(weight), priority: Int(priority)))
                }
            }
        }
        return instances.sorted()
    }
}
