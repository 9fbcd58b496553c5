import CMDNSSocket
import Discovery
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Registers an instance as a DNS-SD service over multicast DNS (RFC 6762, RFC 6763) while this
/// process runs: ``register()`` probes for the instance name, renames it on a conflict
/// (`NAME (2)`, logged; ``instance`` then has the new id), announces, and returns; the
/// registrar then answers queries until ``deregister()`` sends goodbyes (TTL 0).
///
/// The records: PTR `SERVICE-TYPE -> NAME.SERVICE-TYPE` and TXT (the metadata as `key=value`)
/// live ``Configuration/otherTTL`` (75 minutes, RFC 6762 section 10); SRV `port target` and the
/// target's addresses ``Configuration/hostTTL`` (120 s). An instance whose address is an IP
/// address gets a host name of its own, `ID.local` (the id's letters, digits and hyphens), with
/// an A or AAAA record; one whose address is a name (`printer.local:631`) points its SRV record
/// there and publishes no address (the name's owner answers for it). A process that dies
/// without a goodbye leaves its records in other hosts' caches until their TTLs run out.
public final class MDNSRegistrar: Registrar {
    public struct Configuration: Sendable, Hashable {
        /// The service type, such as `_http._tcp.local`.
        public var serviceType: String
        public var interface: String?
        /// Seconds, for the SRV and address records.
        public var hostTTL: UInt32
        /// Seconds, for the PTR and TXT records.
        public var otherTTL: UInt32

        public init(
            serviceType: String, interface: String? = nil, hostTTL: UInt32 = 120, otherTTL: UInt32 = 4500
        ) {
            self.serviceType = serviceType
            self.interface = interface
            self.hostTTL = hostTTL
            self.otherTTL = otherTTL
        }
    }

    private struct Running: Sendable {
        let loop: MDNSLoop<MDNSResponder>
    }

    /// A name probed for by ``claim()`` and held for ``register()`` to announce.
    private struct Held: Sendable {
        let loop: MDNSLoop<MDNSResponder>
        let announced: AsyncStream<String>
    }

    public let configuration: Configuration
    private let registration: MDNSResponder.Registration
    private let current: Mutex<Instance>
    private let lifecycle = RegistrarLifecycle<Running>()
    private let held = Mutex<Held?>(nil)
    private let logger: Logger

    public var instance: Instance { current.withLock { $0 } }

    /// The SRV record's target as registered: the host name of its own (`web-1.local`) for an
    /// instance whose address is an IP address, else the address's name.
    public var target: String {
        if let host = registration.hostLabel { return DNSName.escaped(label: host.utf8) + ".local" }
        return registration.foreignTarget ?? "."
    }

    /// Checks what can be checked before the network: the address, the name and the TXT
    /// strings (each `key=value` at most 255 bytes).
    public init(configuration: Configuration, instance: Instance, logger: Logger = DiscoveryLogging.disabled)
        throws(DiscoveryError)
    {
        let address = try HostPort(parsing: instance.address)
        guard address.port != 0 else {
            throw DiscoveryError(.invalidArgument, "an mDNS instance needs a port other than 0")
        }
        let label = instance.id ?? address.host
        guard !label.isEmpty, label.utf8.count <= DNSName.maximumLabelLength else {
            throw DiscoveryError(.invalidArgument, "an mDNS instance name is 1 to 63 bytes: '\(label)'")
        }
        var txt: [[UInt8]] = []
        for (key, value) in instance.metadata.sorted(by: { $0.key < $1.key }) {
            let pair = Array("\(key)=\(value)".utf8)
            guard !key.isEmpty, !key.contains("="), pair.count <= 255 else {
                throw DiscoveryError(
                    .invalidArgument,
                    "a TXT pair is a key without '=' and at most 255 bytes with its value: '\(key)'")
            }
            txt.append(pair)
        }
        // RFC 6763 section 6.1: no pairs is one empty string, as it goes on the wire and comes back.
        if txt.isEmpty { txt = [[]] }
        var registration = MDNSResponder.Registration(
            serviceType: DNSName.relative(configuration.serviceType), instanceLabel: label,
            port: address.port,
            priority: UInt16(clamping: instance.priority ?? 0),
            weight: UInt16(clamping: instance.weight ?? 0),
            hostLabel: nil, foreignTarget: nil, addresses: [], txt: txt, hostTTL: configuration.hostTTL,
            otherTTL: configuration.otherTTL)
        if let data = Self.addressData(address.host) {
            registration.hostLabel = Self.hostLabel(label)
            registration.addresses = [data]
        } else {
            registration.foreignTarget = DNSName.relative(address.host)
        }
        // Checked now, not on the wire: every name must encode.
        var scratch: [UInt8] = []
        try DNSName.encode(registration.serviceType, into: &scratch)
        try DNSName.encode(
            DNSName.escaped(label: label.utf8) + "." + registration.serviceType, into: &scratch)
        if let target = registration.foreignTarget { try DNSName.encode(target, into: &scratch) }
        self.configuration = configuration
        self.registration = registration
        var named = instance
        named.id = label
        current = Mutex(named)
        self.logger = logger.forBackend("mdns")
    }

    public func register() async throws {
        try await lifecycle.register { () async throws -> Running in
            let loop: MDNSLoop<MDNSResponder>
            let announced: AsyncStream<String>
            if let claimed = held.withLock({ held in
                defer { held = nil }
                return held
            }) {
                (loop, announced) = (claimed.loop, claimed.announced)
                loop.send(.announce)
            } else {
                (loop, announced) = try start(holding: nil)
            }
            let name = await withTaskCancellationHandler {
                var names = announced.makeAsyncIterator()
                return await names.next()
            } onCancel: {
                loop.send(.stop)
            }
            guard let name else {
                throw DiscoveryError(.stopped, "mDNS registration stopped before the name was claimed")
            }
            current.withLock { $0.id = name }
            // Later renames (a conflict while running) update the id as they come.
            Task { [weak self] in
                for await renamed in announced { self?.current.withLock { $0.id = renamed } }
            }
            return Running(loop: loop)
        }
    }

    /// Probes for the instance's name (renaming on a conflict, as ``register()`` does) and
    /// holds it unannounced, so that ``register()`` then only announces: for a caller that
    /// times registration apart from the probing RFC 6762 requires first (`bench
    /// propagation`). While held, a conflicting response renames it and probes again; queries
    /// are not answered. Not needed otherwise: ``register()`` probes by itself.
    public func claim() async throws {
        guard held.withLock({ $0 == nil }) else { return }
        let names = AsyncStream<String>.makeStream()
        let (loop, announced) = try start(holding: names.continuation)
        let name = await withTaskCancellationHandler {
            var iterator = names.stream.makeAsyncIterator()
            return await iterator.next()
        } onCancel: {
            loop.send(.stop)
        }
        guard let name else {
            throw DiscoveryError(.stopped, "mDNS registration stopped before the name was claimed")
        }
        current.withLock { $0.id = name }
        held.withLock { $0 = Held(loop: loop, announced: announced) }
    }

    /// Opens the sockets and starts a responder; with `holding`, one that holds its name after
    /// probing and tells it there. Returns the loop and the names announced.
    private func start(holding: AsyncStream<String>.Continuation?) throws -> (
        MDNSLoop<MDNSResponder>, AsyncStream<String>
    ) {
        let sockets = try MDNSSockets(interface: configuration.interface)
        let loop = try MDNSLoop<MDNSResponder>(logger: logger)
        let announced = AsyncStream<String>.makeStream()
        var claimed: (@Sendable (String) -> Void)?
        if let holding { claimed = { name in holding.yield(name) } }
        let responder = MDNSResponder(registration: registration, logger: logger, claimed: claimed) { name in
            announced.continuation.yield(name)
        }
        loop.start(
            sockets: sockets, driver: responder,
            ended: {
                announced.continuation.finish()
                holding?.finish()
            })
        return (loop, announced.stream)
    }

    public func deregister() async throws {
        // A name claimed and never registered was never announced: nothing to say goodbye to.
        if let claimed = held.withLock({ held in
            defer { held = nil }
            return held
        }) {
            claimed.loop.send(.stop)
        }
        try await lifecycle.deregister { running, _ in
            guard let running else { return }
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                if !running.loop.send(.goodbye(done: { done.resume() })) { done.resume() }
            }
        }
    }

    /// An A or AAAA record's data for an IP address; `nil` for a name.
    static func addressData(_ host: String) -> DNSResourceRecord.RecordData? {
        var bytes = [UInt8](repeating: 0, count: 16)
        switch sdctl_mdns_parse_address(host, &bytes) {
        case 4:
            return .a(bytes[..<4].reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            return .aaaa(
                high: bytes[..<8].reduce(0) { $0 << 8 | UInt64($1) },
                low: bytes[8...].reduce(0) { $0 << 8 | UInt64($1) })
        default:
            return nil
        }
    }

    /// A host name label from an instance name: its letters and digits lowercased, anything
    /// else a hyphen, no hyphen at either end (`My Printer` -> `my-printer`).
    static func hostLabel(_ name: String) -> String {
        var label = String(
            name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(50))
        while label.hasPrefix("-") { label.removeFirst() }
        while label.hasSuffix("-") { label.removeLast() }
        return label.isEmpty ? "sdctl" : label
    }
}
