import Discovery

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One endpoint as etcd's gRPC naming writes it (`endpoints.Manager.AddEndpoint`, and grpc-go's
/// older `naming.GRPCResolver`): the JSON of its `Update` under the key `target/ADDR`.
///
/// ```json
/// {"Op":0,"Addr":"10.0.0.1:80","Metadata":{"zone":"eu-1"}}
/// ```
///
/// `Op` 0 adds the address, 1 deletes it (the manager deletes the key instead, but an older
/// writer may put a delete). `Metadata` is any JSON: an object gives its top-level strings,
/// numbers and booleans as metadata, a string or number becomes `grpc.metadata`.
public struct GRPCNamingUpdate: Sendable, Equatable {
    public enum Operation: Int, Sendable {
        case add = 0
        case delete = 1
    }

    public var operation: Operation
    public var address: String
    public var metadata: [String: String]

    public init(operation: Operation = .add, address: String, metadata: [String: String] = [:]) {
        self.operation = operation
        self.address = address
        self.metadata = metadata
    }

    /// Reads the manager's JSON.
    public init(json bytes: [UInt8]) throws(DiscoveryError) {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(bytes))
        } catch {
            throw DiscoveryError(
                .invalidResponse, "not an etcd gRPC naming update (malformed JSON or wrong types)",
                cause: error)
        }
        guard let operation = Operation(rawValue: wire.op ?? 0) else {
            throw DiscoveryError(
                .invalidResponse, "an etcd gRPC naming update with Op \(wire.op ?? 0), not 0 or 1")
        }
        self.init(operation: operation, address: wire.addr ?? "", metadata: wire.metadata?.entries ?? [:])
    }

    /// The instance this update adds, `nil` for a delete; its id is the key's part after the
    /// prefix. A zone and weight come from `zone` and `weight` entries, as elsewhere.
    public func instance(id: String) throws(DiscoveryError) -> Instance? {
        guard operation == .add else { return nil }
        let address = try HostPort(parsing: address)
        return Instance(address: address.description, id: id, metadataWithPlacement: metadata)
    }

    /// The manager's JSON: `Metadata` an object of the metadata's strings, or `null` without any.
    public var json: [UInt8] {
        var text = "{\"Op\":\(operation.rawValue),\"Addr\":\(JSONString.quoted(address)),\"Metadata\":"
        if metadata.isEmpty {
            text += "null"
        } else {
            text +=
                "{"
                + metadata.sorted { $0.key < $1.key }.map {
                    JSONString.quoted($0.key) + ":" + JSONString.quoted($0.value)
                }
                .joined(separator: ",") + "}"
        }
        return Array((text + "}").utf8)
    }

    private struct Wire: Decodable {
        var op: Int?
        var addr: String?
        var metadata: AnyMetadata?

        // Go's encoding/json names: the fields' own, capitalised.
        enum CodingKeys: String, CodingKey {
            case op = "Op"
            case addr = "Addr"
            case metadata = "Metadata"
        }
    }

    /// `Metadata` of any JSON type.
    private struct AnyMetadata: Decodable {
        var entries: [String: String] = [:]

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: JSONScalar.Key.self) {
                entries = JSONScalar.members(of: object)
            } else if let value = try? decoder.singleValueContainer().decode(JSONScalar.self) {
                entries["grpc.metadata"] = value.text
            }
        }
    }
}
