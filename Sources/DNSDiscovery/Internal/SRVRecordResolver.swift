import Discovery
import Logging

/// One refresh of an ``SRVInstancer``: the SRV query, the targets' addresses if asked for, and
/// the instances, TTL and (for an empty set) the reason that come of them.
struct SRVRecordResolver: Sendable {
    struct Answer: Sendable {
        var instances: [Instance]
        /// How long the answer may be cached.
        var ttl: Duration
        /// Why there are no instances, when there are none by the server's answer.
        var negative: String?
    }

    let client: DNSClient
    let configuration: SRVInstancer.Configuration
    let logger: Logger

    func resolve() async throws(DiscoveryError) -> Answer {
        let deadline = ContinuousClock.now + configuration.queryTimeout
        let response = try await client.query(configuration.name, type: .srv, deadline: deadline)
        let message = response.message
        let records = response.answers(.srv)
        guard message.responseCode == .noError, !records.isEmpty else {
            let why =
                message.responseCode == .nameError
                ? "\(response.name) does not exist (NXDOMAIN from \(response.server))"
                : "\(response.name) has no SRV records (empty answer from \(response.server))"
            return Answer(instances: [], ttl: Self.negativeTTL(message), negative: why)
        }
        var ttl = records.map(\.ttl).min()!
        if records.count == 1, case .srv(_, _, _, ".") = records[0].data {
            return Answer(
                instances: [], ttl: .seconds(ttl),
                negative: "\(response.name) is decidedly not available (SRV target '.', RFC 2782)")
        }
        var services: [(priority: UInt16, weight: UInt16, port: UInt16, target: String)] = []
        for record in records {
            guard case .srv(let priority, let weight, let port, let target) = record.data else { continue }
            guard port != 0, target != "." else {
                logger.warning(
                    "skipping SRV record",
                    metadata: ["sd.name": "\(record.name)", "sd.target": "\(target)", "sd.port": "\(port)"])
                continue
            }
            services.append((priority, weight, port, target))
        }
        var addresses: [String: (addresses: [String], ttl: UInt32)] = [:]
        if configuration.resolve != .none {
            addresses = try await Self.addresses(
                of: Set(services.map(\.target)), resolve: configuration.resolve,
                additionals: response.message.additionals, client: client, deadline: deadline, logger: logger)
            ttl = addresses.values.reduce(ttl) { min($0, $1.ttl) }
        }
        var instances: [Instance] = []
        for service in services {
            let metadata = ["ttl": "\(ttl)", "target": service.target]
            let hosts =
                configuration.resolve == .none ? [service.target] : addresses[service.target]?.addresses ?? []
            if hosts.isEmpty {
                logger.warning(
                    "SRV target has no address; skipping", metadata: ["sd.target": "\(service.target)"])
            }
            for host in hosts {
                instances.append(
                    Instance(
                        address: HostPort(host: host, port: service.port).description, metadata: metadata,
                        weight: Int(service.weight), priority: Int(service.priority)))
            }
        }
        return Answer(instances: Self.lowestPriorityPerAddress(instances), ttl: .seconds(ttl))
    }

    /// The targets' addresses: from `additionals` (a reply's additional section) where the
    /// server sent them there, by A/AAAA queries otherwise. A target whose addresses cannot be
    /// had maps to none (logged); only when no target has one is it a failure.
    static func addresses(
        of targets: Set<String>, resolve: SRVInstancer.AddressResolution, additionals: [DNSResourceRecord],
        client: DNSClient, deadline: ContinuousClock.Instant, logger: Logger
    ) async throws(DiscoveryError) -> [String: (addresses: [String], ttl: UInt32)] {
        let types: [DNSRecordType] =
            switch resolve {
            case .a: [.a]
            case .aaaa: [.aaaa]
            default: [.a, .aaaa]
            }
        var result: [String: (addresses: [String], ttl: UInt32)] = [:]
        var missing: [(String, DNSRecordType)] = []
        // A server that puts a target's addresses in the additional section puts all it has
        // (RFC 2782's "Additional Data"), so any there is taken as complete.
        for target in targets {
            let records = additionals.filter {
                types.contains($0.type) && DNSName.equal($0.name, target)
            }
            if records.isEmpty {
                missing += types.map { (target, $0) }
            } else {
                Self.add(records, for: target, to: &result)
            }
        }
        guard !missing.isEmpty else { return result }
        for (target, type) in missing {
            logger.debug(
                "asking for an SRV target's addresses",
                metadata: ["sd.target": "\(target)", "sd.type": "\(type)"])
        }
        let answers = await withTaskGroup(of: (String, Result<DNSResponse, DiscoveryError>).self) { group in
            for (target, type) in missing {
                group.addTask {
                    do throws(DiscoveryError) {
                        return (
                            target,
                            .success(try await client.query(exactly: target, type: type, deadline: deadline))
                        )
                    } catch {
                        return (target, .failure(error))
                    }
                }
            }
            var collected: [(String, Result<DNSResponse, DiscoveryError>)] = []
            for await answer in group { collected.append(answer) }
            return collected
        }
        // A target whose addresses cannot be had is skipped (and logged by the caller, as one
        // without addresses); only when no target has an address is the refresh a failure.
        var failure: DiscoveryError?
        for (target, answer) in answers {
            switch answer {
            case .success(let response):
                Self.add(
                    response.message.answers.filter { $0.type == .a || $0.type == .aaaa }, for: target,
                    to: &result)
            case .failure(let error):
                logger.warning(
                    "cannot resolve SRV target", metadata: ["sd.target": "\(target)", "sd.error": "\(error)"])
                failure = error
            }
            if result[target] == nil { result[target] = ([], UInt32.max) }
        }
        if let failure, !result.values.contains(where: { !$0.addresses.isEmpty }) { throw failure }
        return result
    }

    private static func add(
        _ records: [DNSResourceRecord], for target: String,
        to result: inout [String: (addresses: [String], ttl: UInt32)]
    ) {
        var entry = result[target] ?? ([], UInt32.max)
        for record in records {
            guard let text = record.data.addressText else { continue }
            entry.addresses.append(text)
            entry.ttl = min(entry.ttl, record.ttl)
        }
        result[target] = entry
    }

    /// One instance per address (an address is an instance's identity): the one with the
    /// lowest priority, then the highest weight.
    private static func lowestPriorityPerAddress(_ instances: [Instance]) -> [Instance] {
        var best: [String: Instance] = [:]
        for instance in instances {
            if let kept = best[instance.address],
                (kept.priority!, -kept.weight!) <= (instance.priority!, -instance.weight!)
            {
                continue
            }
            best[instance.address] = instance
        }
        return best.values.sorted()
    }

    /// RFC 2308: a negative answer is cached for the smaller of the SOA's TTL and its MINIMUM;
    /// without an SOA, for no time (the instancer's minimum interval then applies).
    static func negativeTTL(_ message: DNSMessage) -> Duration {
        for record in message.authorities {
            if case .soa(_, let minimum) = record.data { return .seconds(min(record.ttl, minimum)) }
        }
        return .zero
    }
}
