import Discovery
import DiscoveryHTTP

/// One instance as a Eureka server lists it, decoded leniently: ports as `{"$": 8080,
/// "@enabled": "true"}` with numbers or strings, `overriddenStatus` or the older
/// `overriddenstatus`, an instance id falling back to the host name as Eureka's own does.
public struct EurekaInstanceRecord: Sendable, Hashable, Decodable {
    public struct Port: Sendable, Hashable {
        public var number: Int
        public var enabled: Bool
    }

    public var instanceID: String
    public var app: String
    public var hostName: String
    public var ipAddr: String
    public var status: EurekaStatus
    public var port: Port?
    public var securePort: Port?
    public var vipAddress: String?
    public var secureVipAddress: String?
    public var dataCenter: String?
    /// The instance's metadata (without Eureka's `@class` marker of an empty map).
    public var metadata: [String: String]
    /// The data-centre metadata (`availability-zone` on Amazon).
    public var dataCenterMetadata: [String: String]

    private enum Keys: String, CodingKey {
        case instanceId, app, hostName, ipAddr, status, port, securePort, vipAddress, secureVipAddress
        case dataCenterInfo, metadata, name
        case number = "$"
        case enabled = "@enabled"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        hostName = try container.decodeIfPresent(String.self, forKey: .hostName) ?? ""
        let id = try container.decodeIfPresent(String.self, forKey: .instanceId) ?? ""
        instanceID = id.isEmpty ? hostName : id
        app = try container.decodeIfPresent(String.self, forKey: .app) ?? ""
        ipAddr = try container.decodeIfPresent(String.self, forKey: .ipAddr) ?? ""
        status = EurekaStatus(
            reading: try container.decodeIfPresent(String.self, forKey: .status) ?? "UNKNOWN")
        port = try Self.port(container, .port)
        securePort = try Self.port(container, .securePort)
        vipAddress = try container.decodeIfPresent(String.self, forKey: .vipAddress)
        secureVipAddress = try container.decodeIfPresent(String.self, forKey: .secureVipAddress)
        metadata = try Self.strings(container, .metadata)
        if container.contains(.dataCenterInfo), try !container.decodeNil(forKey: .dataCenterInfo) {
            let info = try container.nestedContainer(keyedBy: Keys.self, forKey: .dataCenterInfo)
            dataCenter = try info.decodeIfPresent(String.self, forKey: .name)
            dataCenterMetadata = try Self.strings(info, .metadata)
        } else {
            dataCenterMetadata = [:]
        }
    }

    private static func port(_ container: KeyedDecodingContainer<Keys>, _ key: Keys) throws -> Port? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        if let number = try? container.decode(Int.self, forKey: key) {
            return Port(number: number, enabled: true)
        }
        let port = try container.nestedContainer(keyedBy: Keys.self, forKey: key)
        let number =
            try (try? port.decode(Int.self, forKey: .number))
            ?? Int(port.decode(String.self, forKey: .number))
        guard let number else {
            throw DecodingError.dataCorruptedError(forKey: .number, in: port, debugDescription: "not a port")
        }
        let enabled =
            (try? port.decode(Bool.self, forKey: .enabled))
            ?? ((try? port.decode(String.self, forKey: .enabled)).map { $0.lowercased() == "true" } ?? true)
        return Port(number: number, enabled: enabled)
    }

    /// A string map, skipping Eureka's `@class` marker and any value that is not a string.
    private static func strings(_ container: KeyedDecodingContainer<Keys>, _ key: Keys) throws -> [String:
        String]
    {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return [:] }
        let map = try container.nestedContainer(keyedBy: AnyKey.self, forKey: key)
        var result: [String: String] = [:]
        for key in map.allKeys where key.stringValue != "@class" {
            if let value = try? map.decode(String.self, forKey: key) { result[key.stringValue] = value }
        }
        return result
    }

    /// The instance at `ipAddr:port`: the secure port when `secure` is asked for or when it is
    /// the only one enabled; `nil` when no suitable port is enabled or the address is unusable.
    /// Status, instance id, host name, VIP address, data centre and metadata come along
    /// (docs/eureka.md lists the keys); the zone is metadata's `zone`, else the data centre's
    /// `availability-zone`.
    public func instance(secure: Bool = false) -> Instance? {
        let chosen: Port?
        if secure {
            chosen = securePort?.enabled == true ? securePort : nil
        } else if port?.enabled != false, let port {
            chosen = port
        } else {
            chosen = securePort?.enabled == true ? securePort : nil
        }
        guard let chosen, (1...65535).contains(chosen.number), !ipAddr.isEmpty else { return nil }
        let host = ipAddr.contains(":") && !ipAddr.hasPrefix("[") ? "[\(ipAddr)]" : ipAddr
        guard let address = try? HostPort(parsing: "\(host):\(chosen.number)") else { return nil }
        var fields = metadata
        fields.removeValue(forKey: RegistrationOwner.key)  // bookkeeping, not the instance's
        fields["eureka.status"] = status.rawValue
        fields["eureka.app"] = app
        fields["eureka.hostName"] = hostName
        if let vipAddress { fields["eureka.vipAddress"] = vipAddress }
        if let dataCenter { fields["eureka.dataCenter"] = dataCenter }
        return Instance(
            address: address.description, id: instanceID, metadata: fields,
            zone: metadata["zone"] ?? dataCenterMetadata["availability-zone"])
    }
}

/// `{"instance": {...}}`: the answer to `GET <base>/apps/<APP>/<id>`.
struct EurekaInstanceBody: Decodable {
    var instance: EurekaInstanceRecord
}
