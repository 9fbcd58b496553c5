import DiscoveryHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A service as the agent's `PUT /v1/agent/service/register` takes it.
public struct ConsulServiceRegistration: Sendable, Hashable {
    /// How the agent judges the instance's health.
    public enum Check: Sendable, Hashable {
        /// Critical unless passed within every `ttl`; the registrar passes it.
        case ttl(Duration)
        /// The agent GETs `url` every `interval`: 2xx passing, 429 warning, else critical.
        case http(url: String, interval: Duration, timeout: Duration? = nil)
        /// The agent connects to `address` (`host:port`) every `interval`.
        case tcp(address: String, interval: Duration, timeout: Duration? = nil)
    }

    /// Unique on the agent; registering an id again replaces that registration.
    public var id: String
    public var name: String
    /// The host, without port; empty means the node's address.
    public var address: String
    public var port: Int
    public var tags: [String]
    /// Keys are ASCII letters, digits, `-` and `_` (the agent refuses others).
    public var meta: [String: String]
    /// `Weights.Passing`, the weight of the instance while its checks pass.
    public var weight: Int?
    public var check: Check?
    /// Status the check starts in; `nil` lets the agent start it critical.
    public var initialStatus: String?
    /// The agent removes the service once its check has been critical this long (its minimum
    /// is one minute, and its reaper runs every 30 s).
    public var deregisterCriticalServiceAfter: Duration?

    public init(
        id: String, name: String, address: String = "", port: Int, tags: [String] = [],
        meta: [String: String] = [:],
        weight: Int? = nil, check: Check? = nil, initialStatus: String? = nil,
        deregisterCriticalServiceAfter: Duration? = nil
    ) {
        self.id = id
        self.name = name
        self.address = address
        self.port = port
        self.tags = tags
        self.meta = meta
        self.weight = weight
        self.check = check
        self.initialStatus = initialStatus
        self.deregisterCriticalServiceAfter = deregisterCriticalServiceAfter
    }

    /// The id the agent gives the check: `service:<id>`.
    public var checkID: String { "service:\(id)" }

    /// The JSON body, in the agent's own field names.
    func body() -> [UInt8] {
        var check: RegistrationBody.Check?
        if let kind = self.check {
            var body = RegistrationBody.Check(
                status: initialStatus,
                deregisterCriticalServiceAfter: deregisterCriticalServiceAfter.map(GoSyntax.duration))
            switch kind {
            case .ttl(let ttl):
                body.ttl = GoSyntax.duration(ttl)
            case .http(let url, let interval, let timeout):
                body.http = url
                body.interval = GoSyntax.duration(interval)
                body.timeout = timeout.map(GoSyntax.duration)
            case .tcp(let address, let interval, let timeout):
                body.tcp = address
                body.interval = GoSyntax.duration(interval)
                body.timeout = timeout.map(GoSyntax.duration)
            }
            check = body
        }
        let body = RegistrationBody(
            id: id, name: name, address: address, port: port, tags: tags, meta: meta,
            weights: weight.map { RegistrationBody.Weights(passing: $0, warning: 1) }, check: check)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding these plain strings and numbers cannot fail.
        return Array((try? encoder.encode(body)) ?? Data())
    }
}
