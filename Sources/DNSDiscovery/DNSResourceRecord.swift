/// One resource record of a reply.
///
/// Names are written as dig writes them without the final dot (`a.example.test`), the root as
/// `.`; a byte that is not printable ASCII, and a dot or backslash inside a label, are escaped
/// (`\046`, `\.`, `\\`).
public struct DNSResourceRecord: Sendable, Hashable {
    /// The record's data, decoded for the types the toolkit uses.
    public enum RecordData: Sendable, Hashable {
        /// RFC 2782.
        case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
        /// An IPv4 address in network byte order, as the 4 bytes were sent.
        case a(UInt32)
        /// An IPv6 address, its 16 bytes as two big-endian halves.
        case aaaa(high: UInt64, low: UInt64)
        case cname(String)
        /// A name the record points to: in DNS-SD (RFC 6763), a service instance's name.
        case ptr(String)
        /// The character-strings of a TXT record, as sent (each at most 255 bytes); DNS-SD's
        /// key/value pairs are read from them by ``DNSSDTXTRecord``.
        case txt([[UInt8]])
        /// The fields of an SOA record that negative caching needs (RFC 2308).
        case soa(primary: String, minimum: UInt32)
        /// Any other type: only the length of its data is kept.
        case other(length: Int)
    }

    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16
    /// Seconds.
    public var ttl: UInt32
    public var data: RecordData

    public init(name: String, type: DNSRecordType, recordClass: UInt16 = 1, ttl: UInt32, data: RecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}
