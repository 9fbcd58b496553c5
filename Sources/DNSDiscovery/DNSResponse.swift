/// A reply a ``DNSClient`` accepted, with where it came from and which name it answers.
public struct DNSResponse: Sendable, Hashable {
    public var message: DNSMessage
    /// The server that answered, as `host:port`.
    public var server: String
    /// The name the reply answers: the one asked for, or one made from it with the search list.
    public var name: String
    /// Whether the reply came over TCP (the UDP one was truncated).
    public var overTCP: Bool

    public init(message: DNSMessage, server: String, name: String, overTCP: Bool) {
        self.message = message
        self.server = server
        self.name = name
        self.overTCP = overTCP
    }

    /// The answer records of `type` for ``name``.
    public func answers(_ type: DNSRecordType) -> [DNSResourceRecord] {
        message.answers.filter { $0.type == type }
    }
}
