import Discovery
import DiscoveryHTTP

/// One element of a health answer: a service instance, its node and its checks.
///
/// Decoded leniently, as old servers write it: lists and maps may be `null`, fields absent.
public struct ConsulServiceEntry: Sendable, Hashable, Decodable {
    public struct Check: Sendable, Hashable, Decodable {
        public var checkID: String
        /// `passing`, `warning` or `critical`.
        public var status: String
        /// Empty for a node check.
        public var serviceID: String

        enum CodingKeys: String, CodingKey {
            case checkID = "CheckID"
            case status = "Status"
            case serviceID = "ServiceID"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            checkID = try container.decodeIfPresent(String.self, forKey: .checkID) ?? ""
            status = try container.decode(String.self, forKey: .status)
            serviceID = try container.decodeIfPresent(String.self, forKey: .serviceID) ?? ""
        }
    }

    public var node: String
    public var nodeAddress: String
    public var datacenter: String
    public var serviceID: String
    public var serviceName: String
    public var tags: [String]
    /// Empty when the service uses its node's address.
    public var serviceAddress: String
    public var port: Int
    public var meta: [String: String]
    /// `Weights.Passing` and `Weights.Warning`; `nil` from servers before 1.2.3.
    public var passingWeight: Int?
    public var warningWeight: Int?
    public var checks: [Check]

    private enum Keys: String, CodingKey {
        case node = "Node"
        case service = "Service"
        case checks = "Checks"
        case address = "Address"
        case datacenter = "Datacenter"
        case id = "ID"
        case tags = "Tags"
        case port = "Port"
        case meta = "Meta"
        case weights = "Weights"
        case passing = "Passing"
        case warning = "Warning"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let node = try container.nestedContainer(keyedBy: Keys.self, forKey: .node)
        let service = try container.nestedContainer(keyedBy: Keys.self, forKey: .service)
        self.node = try node.decodeIfPresent(String.self, forKey: .node) ?? ""
        nodeAddress = try node.decodeIfPresent(String.self, forKey: .address) ?? ""
        datacenter = try node.decodeIfPresent(String.self, forKey: .datacenter) ?? ""
        serviceID = try service.decode(String.self, forKey: .id)
        serviceName = try service.decodeIfPresent(String.self, forKey: .service) ?? ""
        tags = try service.decodeIfPresent([String].self, forKey: .tags) ?? []
        serviceAddress = try service.decodeIfPresent(String.self, forKey: .address) ?? ""
        port = try service.decodeIfPresent(Int.self, forKey: .port) ?? 0
        meta = try service.decodeIfPresent([String: String].self, forKey: .meta) ?? [:]
        if service.contains(.weights), try !service.decodeNil(forKey: .weights) {
            let weights = try service.nestedContainer(keyedBy: Keys.self, forKey: .weights)
            passingWeight = try weights.decodeIfPresent(Int.self, forKey: .passing)
            warningWeight = try weights.decodeIfPresent(Int.self, forKey: .warning)
        }
        checks = try container.decodeIfPresent([Check].self, forKey: .checks) ?? []
    }

    /// Whether every check is passing, node checks included (what `?passing` keeps).
    public var isPassing: Bool { checks.allSatisfy { $0.status == "passing" } }

    /// The instance this entry describes: Service.Address, or Node.Address when that is empty,
    /// plus Service.Port; `nil` when it has no port or no usable address. Tags, meta, weights,
    /// node, datacenter and service id come along (docs/consul.md lists the keys).
    public var instance: Instance? {
        let host = serviceAddress.isEmpty ? nodeAddress : serviceAddress
        guard (1...65535).contains(port), !host.isEmpty else { return nil }
        let text = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]:\(port)" : "\(host):\(port)"
        guard let address = try? HostPort(parsing: text) else { return nil }
        var metadata = meta
        metadata.removeValue(forKey: RegistrationOwner.key)  // bookkeeping, not the instance's
        metadata["consul.node"] = node
        metadata["consul.datacenter"] = datacenter
        metadata["consul.service"] = serviceName
        if let warningWeight { metadata["consul.weight.warning"] = String(warningWeight) }
        return Instance(
            address: address.description, id: serviceID, tags: tags, metadata: metadata,
            weight: passingWeight,
            zone: datacenter.isEmpty ? nil : datacenter)
    }
}
