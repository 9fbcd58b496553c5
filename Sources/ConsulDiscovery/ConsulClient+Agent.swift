import Discovery
import DiscoveryHTTP
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ConsulClient {
    /// A service as the agent lists it (`/v1/agent/services`).
    public struct AgentService: Sendable, Hashable, Decodable {
        public var id: String
        public var service: String
        public var tags: [String]
        public var address: String
        public var port: Int
        public var meta: [String: String]

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case service = "Service"
            case tags = "Tags"
            case address = "Address"
            case port = "Port"
            case meta = "Meta"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            service = try container.decodeIfPresent(String.self, forKey: .service) ?? ""
            tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
            address = try container.decodeIfPresent(String.self, forKey: .address) ?? ""
            port = try container.decodeIfPresent(Int.self, forKey: .port) ?? 0
            meta = try container.decodeIfPresent([String: String].self, forKey: .meta) ?? [:]
        }
    }

    /// `PUT /v1/agent/service/register`: registers or replaces the service with this id.
    public func register(_ registration: ConsulServiceRegistration) async throws(DiscoveryError) {
        _ = try await send(
            .PUT, "/v1/agent/service/register", body: registration.body(),
            what: "register '\(registration.id)'")
    }

    /// `PUT /v1/agent/service/deregister/<id>`; an id the agent does not know is
    /// `DiscoveryError/Code/notFound`.
    public func deregister(serviceID: String) async throws(DiscoveryError) {
        _ = try await send(
            .PUT, "/v1/agent/service/deregister/\(PercentEncoding.encode(serviceID))",
            what: "deregister '\(serviceID)'")
    }

    /// `PUT /v1/agent/check/pass/<id>`: a TTL check passes for another TTL. An unknown check is
    /// `DiscoveryError/Code/notFound` (the agent forgot the service).
    public func passCheck(_ checkID: String, note: String? = nil) async throws(DiscoveryError) {
        _ = try await send(
            .PUT, "/v1/agent/check/pass/\(PercentEncoding.encode(checkID))",
            query: note.map { [("note", $0)] } ?? [],
            what: "pass check '\(checkID)'")
    }

    /// `GET /v1/agent/service/<id>`; `nil` when the agent does not know it.
    public func agentService(id: String) async throws(DiscoveryError) -> AgentService? {
        do {
            let response = try await send(
                .GET, "/v1/agent/service/\(PercentEncoding.encode(id))", what: "agent service '\(id)'")
            return try decode(AgentService.self, response.body, what: "agent service '\(id)'")
        } catch  where error.code == .notFound {
            return nil
        }
    }

    /// `GET /v1/agent/services`: every service registered with this agent, by id.
    public func agentServices() async throws(DiscoveryError) -> [String: AgentService] {
        let response = try await send(.GET, "/v1/agent/services", what: "agent services")
        return try decode([String: AgentService]?.self, response.body, what: "agent services") ?? [:]
    }
}
