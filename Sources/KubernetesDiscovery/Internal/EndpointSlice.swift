/// A `discovery.k8s.io/v1` EndpointSlice, as far as discovery reads it. Fields the API allows to
/// be absent are optional: a missing `ready` condition means ready, missing `ports` means all
/// ports.
struct EndpointSlice: Decodable, Sendable, Equatable {
    struct Metadata: Decodable, Sendable, Equatable {
        var name: String
        var namespace: String?
        var resourceVersion: String?
    }

    struct Endpoint: Decodable, Sendable, Equatable {
        struct Conditions: Decodable, Sendable, Equatable {
            var ready: Bool?
            var serving: Bool?
            var terminating: Bool?
        }

        struct Reference: Decodable, Sendable, Equatable {
            var kind: String?
            var name: String?
            var namespace: String?
        }

        var addresses: [String]
        var conditions: Conditions?
        var hostname: String?
        var nodeName: String?
        var zone: String?
        var targetRef: Reference?
    }

    struct Port: Decodable, Sendable, Equatable {
        var name: String?
        var port: Int?
        var `protocol`: String?
    }

    var metadata: Metadata
    var addressType: String?
    var endpoints: [Endpoint]?
    var ports: [Port]?
}

/// One page of a list.
struct EndpointSliceList: Decodable, Sendable {
    struct Metadata: Decodable, Sendable {
        var resourceVersion: String?
        var `continue`: String?
    }

    var metadata: Metadata
    var items: [EndpointSlice]?
}

/// One line of a watch stream.
enum EndpointSliceEvent: Decodable, Sendable, Equatable {
    case added(EndpointSlice)
    case modified(EndpointSlice)
    case deleted(EndpointSlice)
    /// Only a newer resource version to watch from.
    case bookmark(resourceVersion: String)
    /// The server ends the watch: with code 410, the version is too old and a list is needed.
    case error(KubernetesStatus)

    private enum Keys: String, CodingKey {
        case type, object
    }

    private struct Bookmark: Decodable {
        var metadata: EndpointSliceList.Metadata
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "ADDED": self = .added(try container.decode(EndpointSlice.self, forKey: .object))
        case "MODIFIED": self = .modified(try container.decode(EndpointSlice.self, forKey: .object))
        case "DELETED": self = .deleted(try container.decode(EndpointSlice.self, forKey: .object))
        case "BOOKMARK":
            let bookmark = try container.decode(Bookmark.self, forKey: .object)
            guard let version = bookmark.metadata.resourceVersion else {
                throw DecodingError.dataCorruptedError(
                    forKey: .object, in: container, debugDescription: "a bookmark without a resourceVersion")
            }
            self = .bookmark(resourceVersion: version)
        case "ERROR": self = .error(try container.decode(KubernetesStatus.self, forKey: .object))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container, debugDescription: "an unknown event type")
        }
    }
}
