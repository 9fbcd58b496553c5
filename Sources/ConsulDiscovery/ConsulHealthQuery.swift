/// What a health query asks for: `GET /v1/health/service/<service>` and its parameters.
public struct ConsulHealthQuery: Sendable, Hashable {
    /// The service name.
    public var service: String
    /// Tags an instance must all carry (sent as repeated `tag`, which servers from 1.3 AND
    /// together; checked again here, since older servers used only the first).
    public var tags: [String]
    /// Only instances whose every check, node checks included, is passing (`passing`).
    public var passingOnly: Bool
    /// Another datacenter than the agent's (`dc`).
    public var datacenter: String?
    /// Let any server answer, not only the leader (`stale`): cheaper, possibly behind.
    public var stale: Bool
    /// Sort by round-trip time from this node (`near`; `_agent` means the agent's own node).
    public var near: String?

    public init(
        service: String, tags: [String] = [], passingOnly: Bool = true, datacenter: String? = nil,
        stale: Bool = false, near: String? = nil
    ) {
        self.service = service
        self.tags = tags
        self.passingOnly = passingOnly
        self.datacenter = datacenter
        self.stale = stale
        self.near = near
    }
}
