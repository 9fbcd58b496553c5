import Discovery
import Logging

/// The answering half of multicast DNS (RFC 6762 sections 6, 8, 9 and 10) for one DNS-SD
/// registration, confined to its ``MDNSLoop``'s thread.
///
/// - Probing (section 8.1): 0-250 ms after start, three probes 250 ms apart ask (QU) for the
///   instance name (and the host name when the registration owns its address records), with
///   the records it means to own in the authority section. A response with a different record
///   of such a name is a conflict; so is a simultaneous probe whose records sort after ours
///   (section 8.2), after which ours probes again a second later. On a conflict the instance
///   is renamed `NAME (2)`, `NAME (3)` ... (and the host `HOST-2` ...), logged, and probed
///   again; more than 15 conflicts in 10 s wait 5 s before the next probe (section 8.1).
/// - Announcing (section 8.3): every record, unique ones with the cache-flush bit, twice a
///   second apart; the first announcement completes the registration.
/// - Answering (section 6): queries for the service type's PTR, the instance's SRV, TXT or any,
///   the host's A, AAAA or any, and `_services._dns-sd._udp` PTR; known answers with at least
///   half their TTL left are left out (section 7.1); shared answers wait 20-120 ms, unique
///   ones go at once; a record is multicast at most once a second (250 ms when defending a
///   name against a probe); a query asking for unicast replies (QU, section 5.4) gets the
///   records multicast within a quarter of their TTL to its sender at once, the others by
///   multicast (a probe's defense always by multicast: section 15.1). A query from a port other than 5353 is a legacy unicast query
///   (section 6.7), answered to its sender with its id and question and TTLs of at most 10 s.
/// - A response that contradicts one of our unique records after probing is a conflict
///   (section 9): probing starts again, which renames if the other host still answers.
/// - Goodbye (section 10.1): every record with TTL 0.
final class MDNSResponder: MDNSDriver {
    enum Command: Sendable {
        /// Sends the goodbye, then calls `done` (after the packet left) and ends the loop.
        case goodbye(done: @Sendable () -> Void)
        /// Ends the loop without a goodbye (the registration was never announced).
        case stop
        /// Announces a name held after probing (``holdsAfterProbing``).
        case announce
    }

    /// What the registrar publishes: the instance's name and port, the host and its
    /// addresses when it owns them, TXT strings and TTLs.
    struct Registration: Sendable {
        var serviceType: String
        /// The instance's name as its first label, unescaped (`My Printer`).
        var instanceLabel: String
        var port: UInt16
        var priority: UInt16
        var weight: UInt16
        /// The SRV target's first label when the registration owns its address records
        /// (`web-1` for `web-1.local`); `nil` when the target is someone else's name.
        var hostLabel: String?
        /// The target when it is someone else's (`printer.local`).
        var foreignTarget: String?
        var addresses: [DNSResourceRecord.RecordData]
        var txt: [[UInt8]]
        /// Seconds: SRV and address records (host name records, section 10: 120 s).
        var hostTTL: UInt32
        /// Seconds: PTR and TXT records (section 10: 75 minutes).
        var otherTTL: UInt32
    }

    private enum State {
        case waiting(until: ContinuousClock.Instant)
        case probing(sent: Int, next: ContinuousClock.Instant)
        /// Probed, not announced: waiting for ``Command/announce``. Conflicting responses still
        /// rename; queries are not answered (nothing of it is public yet).
        case holding
        case announcing(sent: Int, next: ContinuousClock.Instant)
        case running
    }

    private var registration: Registration
    /// As registered, before any rename.
    private let original: Registration
    private var state: State = .waiting(until: .now)
    private var conflicts: [ContinuousClock.Instant] = []
    /// When each record was last multicast (section 6: at most once a second).
    private var lastSent: [DNSResourceRecord: ContinuousClock.Instant] = [:]
    private var pendingAnswer: (at: ContinuousClock.Instant, answers: [DNSResourceRecord])?
    private var renames = 1
    private let logger: Logger
    /// Told the instance's current name (its first label) on the first announcement after
    /// each probing.
    private let announced: @Sendable (String) -> Void
    /// Told the current name when probing ends, in a responder that holds it until told to
    /// announce; `nil`: it announces at once.
    private let claimed: (@Sendable (String) -> Void)?

    init(
        registration: Registration, logger: Logger, claimed: (@Sendable (String) -> Void)? = nil,
        announced: @escaping @Sendable (String) -> Void
    ) {
        self.registration = registration
        original = registration
        self.logger = logger
        self.claimed = claimed
        self.announced = announced
    }

    var instanceName: String {
        DNSName.escaped(label: registration.instanceLabel.utf8) + "." + registration.serviceType
    }
    var target: String {
        if let host = registration.hostLabel { return DNSName.escaped(label: host.utf8) + ".local" }
        return registration.foreignTarget ?? "."
    }

    /// Every record of the registration, unique ones marked, with `ttl` for all when given.
    func records(ttl: UInt32? = nil) -> [(record: DNSResourceRecord, unique: Bool)] {
        let host = ttl ?? registration.hostTTL
        let other = ttl ?? registration.otherTTL
        var records: [(DNSResourceRecord, Bool)] = [
            (
                DNSResourceRecord(
                    name: registration.serviceType, type: .ptr, ttl: other, data: .ptr(instanceName)), false
            ),
            (
                DNSResourceRecord(
                    name: instanceName, type: .srv, ttl: host,
                    data: .srv(
                        priority: registration.priority, weight: registration.weight, port: registration.port,
                        target: target)), true
            ),
            (
                DNSResourceRecord(name: instanceName, type: .txt, ttl: other, data: .txt(registration.txt)),
                true
            ),
            (
                DNSResourceRecord(
                    name: "_services._dns-sd._udp.local", type: .ptr, ttl: other,
                    data: .ptr(registration.serviceType)), false
            ),
        ]
        if registration.hostLabel != nil {
            for address in registration.addresses {
                records.append(
                    (
                        DNSResourceRecord(
                            name: target, type: address.isIPv4 ? .a : .aaaa, ttl: host, data: address), true
                    ))
            }
        }
        return records
    }

    var deadline: ContinuousClock.Instant? {
        var soonest: ContinuousClock.Instant?
        switch state {
        case .waiting(let until): soonest = until
        case .probing(_, let next), .announcing(_, let next): soonest = next
        case .holding, .running: break
        }
        if let pending = pendingAnswer { soonest = min(soonest ?? pending.at, pending.at) }
        return soonest
    }

    func start(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        state = .waiting(until: now + .milliseconds(Int.random(in: 0...250)))
        return []
    }

    func handle(_ command: Command, now: ContinuousClock.Instant) -> (outgoing: [MDNSOutgoing], stop: Bool) {
        switch command {
        case .stop:
            return ([], true)
        case .goodbye(let done):
            // Only what was announced is said goodbye to: records lost to a conflict are the
            // other host's now. `done` once it is sent: the caller may exit right after.
            switch state {
            case .announcing, .running:
                return (
                    [.multicast(response(records().map { ($0.record, $0.unique) }, ttl: 0)), .sent(done)],
                    true
                )
            case .waiting, .probing, .holding:
                return ([.sent(done)], true)
            }
        case .announce:
            guard case .holding = state else { return ([], false) }
            return (announce(now: now), false)
        }
    }

    func tick(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        var outgoing: [MDNSOutgoing] = []
        switch state {
        case .waiting(let until) where until <= now:
            state = .probing(sent: 1, next: now + .milliseconds(250))
            outgoing.append(.multicast(probe()))
        case .probing(let sent, let next) where next <= now:
            if sent < 3 {
                state = .probing(sent: sent + 1, next: now + .milliseconds(250))
                outgoing.append(.multicast(probe()))
            } else if let claimed {
                state = .holding
                logger.info(
                    "mDNS name claimed; holding it until told to announce",
                    metadata: ["sd.instance": "\(instanceName)", "sd.target": "\(target)"])
                claimed(registration.instanceLabel)
            } else {
                outgoing += announce(now: now)
            }
        case .announcing(let sent, let next) where next <= now:
            outgoing.append(.multicast(announcement(now: now)))
            state = sent + 1 < 2 ? .announcing(sent: sent + 1, next: now + .seconds(1)) : .running
        default:
            break
        }
        if let pending = pendingAnswer, pending.at <= now {
            pendingAnswer = nil
            let fresh = pending.answers.filter { record in
                (lastSent[record].map { now - $0 >= .seconds(1) } ?? true)
            }
            if !fresh.isEmpty {
                for record in fresh { lastSent[record] = now }
                outgoing.append(.multicast(answer(fresh)))
            }
        }
        return outgoing
    }

    func receive(_ message: DNSMessage, from peer: MDNSSockets.Peer, now: ContinuousClock.Instant)
        -> [MDNSOutgoing]
    {
        guard message.opcode == 0 else { return [] }
        if message.isResponse {
            guard peer.port == MDNSSockets.port, message.responseCode == .noError else { return [] }
            if conflicts(in: message.answers + message.additionals) { return conflict(now: now) }
            return []
        }
        if case .probing = state {
            if losesTieBreak(to: message) {
                logger.info(
                    "simultaneous mDNS probe won by another host; probing again in 1 s",
                    metadata: ["sd.instance": "\(instanceName)"])
                state = .waiting(until: now + .seconds(1))
            }
            return []
        }
        switch state {
        case .waiting, .probing, .holding: return []
        case .announcing, .running: return answerQuery(message, from: peer, now: now)
        }
    }

    // MARK: Probing and conflicts

    private var uniqueNames: [String] {
        registration.hostLabel == nil ? [instanceName] : [instanceName, target]
    }

    private func probe() -> [UInt8] {
        var writer = DNSMessageWriter(flags: 0)
        // Section 8.1: probes ask for unicast replies, which a defending host sends at once.
        for name in uniqueNames {
            try? writer.question(name, type: DNSRecordType(rawValue: 255), unicastResponse: true)
        }
        for (record, unique) in records() where unique { try? writer.record(record, to: .authority) }
        return writer.bytes
    }

    /// Whether a response holds a record of one of our unique names that is not ours (a goodbye
    /// is not a claim).
    private func conflicts(in records: [DNSResourceRecord]) -> Bool {
        let names = uniqueNames
        let ours = Set(self.records().filter(\.unique).map { Self.identity($0.record) })
        for record in records
        where record.ttl > 0 && names.contains(where: { DNSName.equal($0, record.name) }) {
            guard record.type == .srv || record.type == .txt || record.type == .a || record.type == .aaaa
            else { continue }
            if !ours.contains(Self.identity(record)) { return true }
        }
        return false
    }

    /// Section 8.2: the probe whose authority records, sorted, compare later wins; equal sets
    /// are our own probe come back (or identical records, which do not conflict).
    private func losesTieBreak(to query: DNSMessage) -> Bool {
        for name in uniqueNames {
            let theirs = query.authorities.filter { DNSName.equal($0.name, name) }
            guard !theirs.isEmpty else { continue }
            let ours = records().filter { $0.unique && DNSName.equal($0.record.name, name) }.map(\.record)
            let (theirKeys, ourKeys) = (Self.sortKeys(theirs), Self.sortKeys(ours))
            if theirKeys != ourKeys, !Self.precedes(theirKeys, ourKeys) { return true }
        }
        return false
    }

    private static func sortKeys(_ records: [DNSResourceRecord]) -> [[UInt8]] {
        records.map { record in
            var normal = record
            normal.recordClass &= 0x7FFF
            var writer = DNSMessageWriter(flags: 0)
            normal.name = "x"
            normal.ttl = 0
            try? writer.record(normal, to: .answer)
            // Class, type, then the data: the header's 12 bytes and the name "x" (3) skipped,
            // TTL zeroed so it does not count.
            let bytes = Array(writer.bytes.dropFirst(15))
            return Array(bytes[2..<4]) + Array(bytes[0..<2]) + Array(bytes.dropFirst(10))
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private static func precedes(_ lhs: [[UInt8]], _ rhs: [[UInt8]]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right {
            return left.lexicographicallyPrecedes(right)
        }
        return lhs.count < rhs.count
    }

    private static func identity(_ record: DNSResourceRecord) -> String {
        "\(DNSSDRecordResolver.key(record.name))|\(record.type.rawValue)|\(record.data)"
    }

    private func conflict(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        conflicts = conflicts.filter { now - $0 < .seconds(10) } + [now]
        let old = instanceName
        renames += 1
        registration.instanceLabel = "\(original.instanceLabel) (\(renames))"
        if let host = original.hostLabel { registration.hostLabel = "\(host)-\(renames)" }
        logger.notice(
            "mDNS name in use by another host; renamed",
            metadata: DiscoveryLogEvent.registrationRenamed.metadata([
                "sd.instance": "\(old)", "sd.renamed": "\(instanceName)", "sd.target": "\(target)",
            ]))
        let wait: Duration = conflicts.count > 15 ? .seconds(5) : .milliseconds(Int.random(in: 0...250))
        state = .waiting(until: now + wait)
        lastSent = [:]
        pendingAnswer = nil
        return []
    }

    // MARK: Answering

    /// The first announcement, which completes the registration.
    private func announce(now: ContinuousClock.Instant) -> [MDNSOutgoing] {
        state = .announcing(sent: 1, next: now + .seconds(1))
        logger.info(
            "mDNS name claimed; announcing",
            metadata: ["sd.instance": "\(instanceName)", "sd.target": "\(target)"])
        announced(registration.instanceLabel)
        return [.multicast(announcement(now: now))]
    }

    private func announcement(now: ContinuousClock.Instant) -> [UInt8] {
        let all = records()
        for (record, _) in all { lastSent[record] = now }
        return response(all.map { ($0.record, $0.unique) }, ttl: nil)
    }

    private func response(_ records: [(DNSResourceRecord, Bool)], ttl: UInt32?) -> [UInt8] {
        var writer = DNSMessageWriter(flags: DNSMessageWriter.responseFlags)
        for (record, unique) in records {
            var record = record
            if let ttl { record.ttl = ttl }
            try? writer.record(record, to: .answer, cacheFlush: unique)
        }
        return writer.bytes
    }

    private func answer(_ answers: [DNSResourceRecord]) -> [UInt8] {
        let all = records()
        var writer = DNSMessageWriter(flags: DNSMessageWriter.responseFlags)
        for record in answers {
            let unique = all.first { $0.record == record }?.unique ?? false
            try? writer.record(record, to: .answer, cacheFlush: unique)
        }
        // Section 12 of RFC 6763: with a PTR answer go the instance's SRV, TXT and addresses;
        // with an SRV answer the addresses.
        var additional: [DNSResourceRecord] = []
        if answers.contains(where: { $0.type == .ptr && $0.name == registration.serviceType }) {
            additional += all.filter { $0.record.type == .srv || $0.record.type == .txt }.map(\.record)
        }
        if answers.contains(where: { $0.type == .srv }) || !additional.isEmpty {
            additional += all.filter { $0.record.type == .a || $0.record.type == .aaaa }.map(\.record)
        }
        for record in additional where !answers.contains(record) {
            let unique = all.first { $0.record == record }?.unique ?? false
            try? writer.record(record, to: .additional, cacheFlush: unique)
        }
        return writer.bytes
    }

    private func answerQuery(_ query: DNSMessage, from peer: MDNSSockets.Peer, now: ContinuousClock.Instant)
        -> [MDNSOutgoing]
    {
        let all = records()
        var answers: [DNSResourceRecord] = []
        var uniqueOnly = true
        for question in query.questions
        where question.questionClass & 0x7FFF == 1 || question.questionClass & 0x7FFF == 255 {
            for (record, unique) in all
            where DNSName.equal(record.name, question.name)
                && (question.type == record.type || question.type.rawValue == 255)
            {
                // Section 7.1: a known answer with at least half our TTL left is not repeated.
                let known = query.answers.contains {
                    $0.type == record.type && DNSName.equal($0.name, record.name) && $0.data == record.data
                        && $0.ttl >= record.ttl / 2
                }
                guard !known, !answers.contains(record) else { continue }
                answers.append(record)
                if !unique { uniqueOnly = false }
            }
        }
        guard !answers.isEmpty else { return [] }
        if peer.port != MDNSSockets.port {
            // Section 6.7: a legacy resolver's one-shot query, answered to it alone.
            var writer = DNSMessageWriter(id: query.id, flags: DNSMessageWriter.responseFlags)
            for question in query.questions { try? writer.question(question.name, type: question.type) }
            for record in answers {
                var record = record
                record.ttl = min(record.ttl, 10)
                try? writer.record(record, to: .answer)
            }
            return [.unicast(writer.bytes, to: peer)]
        }
        let isProbe = !query.authorities.isEmpty
        var outgoing: [MDNSOutgoing] = []
        if !isProbe, query.questions.contains(where: { $0.questionClass & 0x8000 != 0 }) {
            // Section 5.4: a question asking for a unicast reply gets one at once for the records
            // multicast within a quarter of their TTL; the others are multicast, so that every
            // cache on the link has them. A probe's defense is always multicast: a unicast reply
            // to port 5353 reaches only one of the sockets sharing it on the prober's host
            // (section 15.1), maybe not the prober's.
            let recent = answers.filter { record in
                lastSent[record].map { now - $0 < .seconds(record.ttl) / 4 } ?? false
            }
            if !recent.isEmpty {
                outgoing.append(.unicast(answer(recent), to: peer))
                answers.removeAll { recent.contains($0) }
                uniqueOnly = answers.allSatisfy { answer in all.contains { $0.record == answer && $0.unique }
                }
            }
            guard !answers.isEmpty else { return outgoing }
        }
        if uniqueOnly {
            // Unique answers go at once; defending a name against a probe may repeat after 250 ms.
            let spacing: Duration = isProbe ? .milliseconds(250) : .seconds(1)
            let fresh = answers.filter { lastSent[$0].map { now - $0 >= spacing } ?? true }
            guard !fresh.isEmpty else { return outgoing }
            for record in fresh { lastSent[record] = now }
            return outgoing + [.multicast(answer(fresh))]
        }
        let at = now + .milliseconds(Int.random(in: 20...120))
        if var pending = pendingAnswer {
            pending.answers += answers.filter { !pending.answers.contains($0) }
            pendingAnswer = pending
        } else {
            pendingAnswer = (at, answers)
        }
        return outgoing
    }
}

extension DNSResourceRecord.RecordData {
    var isIPv4: Bool {
        if case .a = self { return true }
        return false
    }
}
