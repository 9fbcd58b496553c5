/// One instance of a service, as a discovery backend reports it.
///
/// The ``address`` (`host:port`, IPv6 hosts in brackets) is the identity: two instances with
/// the same address are the same instance, which keeps sets interoperable with go-kit, whose
/// instances are plain address strings. The remaining fields are metadata a backend fills in
/// where it has it.
public struct Instance: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `host:port`; an IPv6 host is written in brackets (`[::1]:80`).
    public var address: String
    /// The backend's identifier of this registration, when it has one.
    public var id: String?
    /// Free-form labels.
    public var tags: [String]
    /// Key-value metadata.
    public var metadata: [String: String]
    /// A relative weight for weighted balancing.
    public var weight: Int?
    /// Lower is preferred (DNS SRV semantics).
    public var priority: Int?
    /// The zone or data centre the instance runs in.
    public var zone: String?

    public init(
        address: String,
        id: String? = nil,
        tags: [String] = [],
        metadata: [String: String] = [:],
        weight: Int? = nil,
        priority: Int? = nil,
        zone: String? = nil
    ) {
        self.address = address
        self.id = id
        self.tags = tags
        self.metadata = metadata
        self.weight = weight
        self.priority = priority
        self.zone = zone
    }

    /// Orders by address, then by id, so that every published set has one deterministic order.
    public static func < (lhs: Instance, rhs: Instance) -> Bool {
        if lhs.address != rhs.address { return lhs.address < rhs.address }
        return (lhs.id ?? "") < (rhs.id ?? "")
    }

    public var description: String { address }
}
