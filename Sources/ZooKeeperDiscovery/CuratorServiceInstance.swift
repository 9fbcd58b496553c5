import Discovery

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One instance as Apache Curator's `ServiceDiscovery` writes it: the JSON of its
/// `ServiceInstance`, as the data of a child named by the instance's id.
///
/// ```json
/// {"name":"web","id":"id-1","address":"10.0.0.1","port":8080,"sslPort":null,
///  "payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
///             "id":"id-1","name":"web","metadata":{"zone":"eu-1"}},
///  "registrationTimeUTC":1796403357466,"serviceType":"DYNAMIC","uriSpec":null}
/// ```
///
/// The payload is whatever class the registering service chose. Spring Cloud Zookeeper's
/// `ZookeeperInstance` keeps its metadata in a `metadata` map, which becomes the instance's
/// metadata; any other payload gives its top-level strings, numbers and booleans instead.
public struct CuratorServiceInstance: Sendable, Equatable {
    public var name: String
    public var id: String
    public var address: String
    public var port: Int?
    public var sslPort: Int?
    /// The payload's metadata (see above).
    public var metadata: [String: String]
    /// The payload's Java class (`@class`), when it names one.
    public var payloadClass: String?
    public var registrationTimeUTC: Int64?
    /// `DYNAMIC` (ephemeral), `STATIC`, `PERMANENT` or `DYNAMIC_SEQUENTIAL`.
    public var serviceType: String?

    /// The class sdctl writes its payload as: Spring Cloud Zookeeper's, which its services read
    /// (a Curator reader with another payload class cannot read an instance of this one).
    public static let springPayloadClass = "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance"

    public init(
        name: String, id: String, address: String, port: Int?, sslPort: Int? = nil,
        metadata: [String: String] = [:],
        payloadClass: String? = CuratorServiceInstance.springPayloadClass, registrationTimeUTC: Int64? = nil,
        serviceType: String? = "DYNAMIC"
    ) {
        self.name = name
        self.id = id
        self.address = address
        self.port = port
        self.sslPort = sslPort
        self.metadata = metadata
        self.payloadClass = payloadClass
        self.registrationTimeUTC = registrationTimeUTC
        self.serviceType = serviceType
    }

    /// Which of an instance's ports a reader uses.
    public enum Port: String, Sendable, Equatable {
        /// `port`.
        case plain
        /// `sslPort` (`?port=ssl`).
        case ssl
    }

    /// Reads Curator's JSON. Unknown fields are ignored, as Curator's own reader ignores them.
    public init(json bytes: [UInt8]) throws(DiscoveryError) {
        let decoded: Wire
        do {
            decoded = try JSONDecoder().decode(Wire.self, from: Data(bytes))
        } catch {
            throw DiscoveryError(
                .invalidResponse, "not a Curator ServiceInstance: \(Self.describe(error))", cause: error)
        }
        guard let id = decoded.id, !id.isEmpty else {
            throw DiscoveryError(.invalidResponse, "a Curator ServiceInstance without an id")
        }
        guard let address = decoded.address, !address.isEmpty else {
            throw DiscoveryError(.invalidResponse, "a Curator ServiceInstance without an address")
        }
        self.init(
            name: decoded.name ?? "", id: id, address: address, port: decoded.port, sslPort: decoded.sslPort,
            metadata: decoded.payload?.metadata ?? [:], payloadClass: decoded.payload?.payloadClass,
            registrationTimeUTC: decoded.registrationTimeUTC, serviceType: decoded.serviceType)
    }

    /// The instance a reader sees: `address:port` (or `sslPort`), the id, the metadata with
    /// `curator.serviceType`, the zone from the `zone` entry and the weight from `weight`.
    public func instance(port which: Port = .plain) throws(DiscoveryError) -> Instance {
        guard let port = which == .ssl ? sslPort : port else {
            throw DiscoveryError(
                .invalidResponse,
                which == .ssl ? "instance \(id) has no sslPort" : "instance \(id) has no port")
        }
        guard let number = UInt16(exactly: port), number > 0 else {
            throw DiscoveryError(.invalidResponse, "instance \(id) has port \(port), not 1-65535")
        }
        let hostPort = try HostPort(parsing: HostPort(host: address, port: number).description)
        var metadata = self.metadata
        if let serviceType { metadata["curator.serviceType"] = serviceType }
        return Instance(address: hostPort.description, id: id, metadataWithPlacement: metadata)
    }

    /// Curator's JSON, in the order of the fields Curator writes, with a Spring Cloud Zookeeper
    /// payload (`@class`, `id`, `name`, `metadata`).
    public var json: [UInt8] {
        func string(_ text: String?) -> String { text.map(JSONString.quoted) ?? "null" }
        func number<T: BinaryInteger>(_ value: T?) -> String { value.map { "\($0)" } ?? "null" }
        let entries = metadata.sorted { $0.key < $1.key }.map {
            "\(JSONString.quoted($0.key)):\(JSONString.quoted($0.value))"
        }
        var payload = "{"
        if let payloadClass { payload += "\"@class\":\(JSONString.quoted(payloadClass))," }
        payload += "\"id\":\(JSONString.quoted(id)),\"name\":\(JSONString.quoted(name)),"
        payload += "\"metadata\":{\(entries.joined(separator: ","))}}"
        let text =
            "{\"name\":\(JSONString.quoted(name)),\"id\":\(JSONString.quoted(id)),\"address\":\(JSONString.quoted(address)),"
            + "\"port\":\(number(port)),\"sslPort\":\(number(sslPort)),\"payload\":\(payload),"
            + "\"registrationTimeUTC\":\(number(registrationTimeUTC)),\"serviceType\":\(string(serviceType)),"
            + "\"uriSpec\":null}"
        return Array(text.utf8)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "malformed JSON" : "\(path) has the wrong type"
        default:
            return "malformed JSON"
        }
    }

    /// The JSON as it is on the wire, every field optional.
    private struct Wire: Decodable {
        var name: String?
        var id: String?
        var address: String?
        var port: Int?
        var sslPort: Int?
        var payload: Payload?
        var registrationTimeUTC: Int64?
        var serviceType: String?
    }

    /// A payload of any class: its `@class`, and its `metadata` map or else its top-level
    /// scalars. Values that are not strings, numbers or booleans are left out.
    private struct Payload: Decodable {
        var payloadClass: String?
        var metadata: [String: String] = [:]

        init(from decoder: any Decoder) throws {
            guard let container = try? decoder.container(keyedBy: JSONScalar.Key.self) else { return }
            payloadClass = try? container.decode(String.self, forKey: JSONScalar.Key("@class"))
            if let map = try? container.nestedContainer(
                keyedBy: JSONScalar.Key.self, forKey: JSONScalar.Key("metadata"))
            {
                metadata = JSONScalar.members(of: map)
            } else {
                metadata = JSONScalar.members(of: container, skipping: ["@class"])
            }
        }
    }
}
