/// The question of a query: a name, a type and (always IN here) a class.
public struct DNSQuestion: Sendable, Hashable {
    /// Without the final dot, as ``DNSResourceRecord/name``.
    public var name: String
    public var type: DNSRecordType
    public var questionClass: UInt16

    public init(name: String, type: DNSRecordType, questionClass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.questionClass = questionClass
    }

    /// Whether a reply's question is this one: names compare case-insensitively (RFC 4343).
    public func matches(_ other: DNSQuestion) -> Bool {
        type == other.type && questionClass == other.questionClass
            && DNSName.equal(name, other.name)
    }
}
