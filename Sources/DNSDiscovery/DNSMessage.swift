import Discovery

/// A DNS message (RFC 1035 section 4): a header, a question and three sections of records.
///
/// ``init(decoding:)-([UInt8])`` takes untrusted bytes: anything malformed is a thrown
/// `DiscoveryError/Code/invalidResponse`, never a crash, and what it allocates is bounded by
/// the length of the input (every record takes at least 11 bytes of it).
public struct DNSMessage: Sendable, Hashable {
    public var id: UInt16
    /// The header's second 16 bits: QR, opcode, AA, TC, RD, RA, Z and RCODE.
    public var flags: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    /// The additional section without the OPT pseudo-record, which is read into
    /// ``ednsPayloadSize``.
    public var additionals: [DNSResourceRecord]
    /// The UDP payload size the sender's OPT record advertised (RFC 6891), if it sent one.
    public var ednsPayloadSize: UInt16?

    public init(
        id: UInt16, flags: UInt16, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = [],
        ednsPayloadSize: UInt16? = nil
    ) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.ednsPayloadSize = ednsPayloadSize
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    /// TC: the reply did not fit and was cut; ask again over TCP.
    public var isTruncated: Bool { flags & 0x0200 != 0 }
    public var isAuthoritative: Bool { flags & 0x0400 != 0 }
    public var opcode: UInt16 { (flags >> 11) & 0xF }
    public var responseCode: DNSResponseCode { DNSResponseCode(rawValue: flags & 0xF) }

    /// The UDP payload size this client advertises: the DNS flag day 2020 value, which avoids IP
    /// fragmentation on practically every path.
    public static let advertisedPayloadSize: UInt16 = 1232

    /// A standard query with recursion desired and an EDNS0 OPT record advertising
    /// ``advertisedPayloadSize``.
    public static func query(id: UInt16, name: String, type: DNSRecordType) throws(DiscoveryError) -> [UInt8]
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + name.utf8.count + 2 + 4 + 11)
        // Header: id, RD, one question, no answers or authorities, one additional (OPT).
        bytes.append(contentsOf: [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1])
        try DNSName.encode(name, into: &bytes)
        bytes.append(contentsOf: [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1])
        // OPT: root name, type 41, class = payload size, extended RCODE/version/flags 0, no data.
        let size = advertisedPayloadSize
        bytes.append(contentsOf: [0, 0, 41, UInt8(size >> 8), UInt8(size & 0xFF), 0, 0, 0, 0, 0, 0])
        return bytes
    }

    /// Decodes a whole message.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(DiscoveryError) {
        var reader = DNSMessageReader(bytes)
        self = try reader.readMessage()
    }

    /// Decodes a whole message.
    public init(decoding bytes: [UInt8]) throws(DiscoveryError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(DiscoveryError) in try DNSMessage(decoding: buffer) }
        }
        self = try result.get()
    }
}
