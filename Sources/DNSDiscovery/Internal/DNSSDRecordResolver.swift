import Discovery
import Logging

/// One refresh of a ``DNSSDInstancer``: the service type's PTR records, each instance's SRV and
/// TXT records (from the additional section where the server put them, asked for otherwise),
/// and the targets' addresses if asked for.
struct DNSSDRecordResolver: Sendable {
    let client: DNSClient
    let configuration: DNSSDInstancer.Configuration
    let logger: Logger

    /// An instance's own records.
    private struct Records: Sendable {
        var srv: [DNSResourceRecord] = []
        var txt: [DNSResourceRecord] = []
        /// Additional records that came with the SRV answer (the target's addresses).
        var additionals: [DNSResourceRecord] = []
    }

    func resolve() async throws(DiscoveryError) -> SRVRecordResolver.Answer {
        let deadline = ContinuousClock.now + configuration.queryTimeout
        let response = try await client.query(configuration.serviceType, type: .ptr, deadline: deadline)
        let message = response.message
        let pointers = response.answers(.ptr)
        guard message.responseCode == .noError, !pointers.isEmpty else {
            let why =
                message.responseCode == .nameError
                ? "\(response.name) does not exist (NXDOMAIN from \(response.server))"
                : "\(response.name) has no PTR records (no instances browsed from \(response.server))"
            return .init(instances: [], ttl: SRVRecordResolver.negativeTTL(message), negative: why)
        }
        var names: [String] = []
        var seen = Set<String>()
        for record in pointers {
            guard case .ptr(let name) = record.data, seen.insert(Self.key(name)).inserted else { continue }
            names.append(name)
            guard names.count <= configuration.maximumInstances else {
                throw DiscoveryError(
                    .invalidResponse,
                    "\(response.server) browsed more than \(configuration.maximumInstances) instances of \(response.name)",
                    cause: InstanceLimitExceeded(limit: configuration.maximumInstances))
            }
        }
        var ttl = pointers.map(\.ttl).min()!
        let records = try await self.records(of: names, additionals: message.additionals, deadline: deadline)

        var services: [(name: String, record: DNSResourceRecord)] = []
        for name in names {
            let found = records[name]?.srv ?? []
            if found.isEmpty {
                logger.warning(
                    "skipping an instance without an SRV record", metadata: ["sd.instance": "\(name)"])
            }
            for record in found {
                guard case .srv(_, _, let port, let target) = record.data, port != 0, target != "." else {
                    logger.warning("skipping SRV record", metadata: ["sd.instance": "\(name)"])
                    continue
                }
                services.append((name, record))
                ttl = min(ttl, record.ttl)
            }
            ttl = records[name]?.txt.reduce(ttl) { min($0, $1.ttl) } ?? ttl
        }
        var addresses: [String: (addresses: [String], ttl: UInt32)] = [:]
        if configuration.resolve != .none {
            let targets = Set(
                services.compactMap { service -> String? in
                    guard case .srv(_, _, _, let target) = service.record.data else { return nil }
                    return target
                })
            let additionals = message.additionals + records.values.flatMap(\.additionals)
            addresses = try await SRVRecordResolver.addresses(
                of: targets, resolve: configuration.resolve, additionals: additionals, client: client,
                deadline: deadline, logger: logger)
            ttl = addresses.values.reduce(ttl) { min($0, $1.ttl) }
        }
        var instances: [Instance] = []
        for (name, record) in services {
            guard case .srv(let priority, let weight, let port, let target) = record.data else { continue }
            let hosts = configuration.resolve == .none ? [target] : addresses[target]?.addresses ?? []
            let metadata = Self.metadata(name: name, target: target, ttl: ttl, txt: records[name]?.txt ?? [])
            let id = (try? DNSName.labels(name).first.map { String(decoding: $0, as: UTF8.self) }) ?? nil
            for host in hosts {
                instances.append(
                    Instance(
                        address: HostPort(host: host, port: port).description, id: id ?? name,
                        metadata: metadata, weight: Int(weight), priority: Int(priority)))
            }
        }
        return .init(instances: instances.sorted(), ttl: .seconds(ttl))
    }

    /// A name as a dictionary key: ASCII case folded (RFC 4343), as ``DNSName/equal(_:_:)``
    /// compares.
    static func key(_ name: String) -> String {
        String(decoding: name.utf8.map(DNSName.lower), as: UTF8.self)
    }

    /// The TXT pairs, then `ttl`, `target` and `instance`; a TXT key among those is kept as
    /// `txt.KEY`, so nothing the registrant said is lost.
    static func metadata(name: String, target: String, ttl: UInt32, txt: [DNSResourceRecord]) -> [String:
        String]
    {
        var strings: [[UInt8]] = []
        for record in txt {
            if case .txt(let parts) = record.data { strings += parts }
        }
        var metadata: [String: String] = [:]
        for (key, value) in DNSSDTXTRecord(strings: strings).metadata {
            metadata[["ttl", "target", "instance"].contains(key) ? "txt.\(key)" : key] = value
        }
        metadata["ttl"] = "\(ttl)"
        metadata["target"] = target
        metadata["instance"] = name
        return metadata
    }

    /// Each instance's SRV and TXT records: from `additionals` where the server sent them, by
    /// queries otherwise, at most ``DNSSDInstancer/Configuration/concurrentQueries`` at once. An
    /// instance whose SRV query fails is left without records (and skipped, logged); only when
    /// every SRV query fails is the refresh a failure.
    private func records(
        of names: [String], additionals: [DNSResourceRecord], deadline: ContinuousClock.Instant
    ) async throws(DiscoveryError) -> [String: Records] {
        var records: [String: Records] = [:]
        var queries: [(String, DNSRecordType)] = []
        // By owner, once: a reply of thousands of instances must not cost thousands squared.
        var additionalsByOwner: [String: [DNSResourceRecord]] = [:]
        for record in additionals where record.type == .srv || record.type == .txt {
            additionalsByOwner[Self.key(record.name), default: []].append(record)
        }
        for name in names {
            var found = Records()
            let owned = additionalsByOwner[Self.key(name)] ?? []
            found.srv = owned.filter { $0.type == .srv }
            found.txt = owned.filter { $0.type == .txt }
            if found.srv.isEmpty { queries.append((name, .srv)) }
            if found.txt.isEmpty { queries.append((name, .txt)) }
            records[name] = found
        }
        guard !queries.isEmpty else { return records }
        let client = self.client
        let width = max(configuration.concurrentQueries, 1)
        let answers = await withTaskGroup(
            of: (String, DNSRecordType, Result<DNSResponse, DiscoveryError>).self
        ) {
            group in
            var collected: [(String, DNSRecordType, Result<DNSResponse, DiscoveryError>)] = []
            var pending = queries[...]
            func start(_ group: inout TaskGroup<(String, DNSRecordType, Result<DNSResponse, DiscoveryError>)>)
            {
                guard let (name, type) = pending.popFirst() else { return }
                group.addTask {
                    do throws(DiscoveryError) {
                        return (
                            name, type,
                            .success(try await client.query(exactly: name, type: type, deadline: deadline))
                        )
                    } catch {
                        return (name, type, .failure(error))
                    }
                }
            }
            for _ in 0..<width { start(&group) }
            while let answer = await group.next() {
                collected.append(answer)
                start(&group)
            }
            return collected
        }
        var srvFailure: DiscoveryError?
        var srvAnswered = false
        for (name, type, result) in answers {
            switch result {
            case .success(let response):
                let found = response.message.answers.filter {
                    $0.type == type && DNSName.equal($0.name, name)
                }
                if type == .srv {
                    srvAnswered = true
                    records[name]?.srv = found
                    records[name]?.additionals = response.message.additionals
                } else {
                    records[name]?.txt = found
                }
            case .failure(let error):
                logger.warning(
                    "cannot read an instance's records",
                    metadata: ["sd.instance": "\(name)", "sd.type": "\(type)", "sd.error": "\(error)"])
                if type == .srv { srvFailure = error }
            }
        }
        if let srvFailure, !srvAnswered, !records.values.contains(where: { !$0.srv.isEmpty }) {
            throw srvFailure
        }
        return records
    }
}
