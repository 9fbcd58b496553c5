import Discovery

/// Writes a DNS message record by record, as multicast DNS sends them: queries with known
/// answers, responses with answers and additional records, probes with their authority
/// records. Names are written whole, without compression (RFC 6762 allows either; a message
/// of one registration's records is a few hundred bytes).
struct DNSMessageWriter {
    private(set) var bytes: [UInt8]
    private var counts: [UInt16] = [0, 0, 0, 0]

    /// The section a record goes to.
    enum Section: Int {
        case answer = 1
        case authority = 2
        case additional = 3
    }

    init(id: UInt16 = 0, flags: UInt16) {
        bytes = [
            UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 0, 0, 0, 0, 0, 0, 0,
        ]
    }

    /// An mDNS response: QR and AA set (RFC 6762 section 18).
    static let responseFlags: UInt16 = 0x8400

    /// Questions come before any record.
    mutating func question(_ name: String, type: DNSRecordType, unicastResponse: Bool = false)
        throws(DiscoveryError)
    {
        precondition(counts[1] + counts[2] + counts[3] == 0, "questions come first")
        try DNSName.encode(name, into: &bytes)
        bytes += Self.uint16(type.rawValue) + Self.uint16(unicastResponse ? 0x8001 : 0x0001)
        add(to: 0)
    }

    /// Appends `record` to `section`; the cache-flush bit (RFC 6762 section 10.2) marks a record
    /// the sender owns alone. Records of sections must be appended in section order.
    mutating func record(_ record: DNSResourceRecord, to section: Section, cacheFlush: Bool = false)
        throws(DiscoveryError)
    {
        precondition(counts[(section.rawValue + 1)...].allSatisfy { $0 == 0 }, "sections in order")
        try DNSName.encode(record.name, into: &bytes)
        let recordClass = (record.recordClass & 0x7FFF) | (cacheFlush ? 0x8000 : 0)
        bytes += Self.uint16(record.type.rawValue) + Self.uint16(recordClass)
        bytes += Self.uint16(UInt16(record.ttl >> 16)) + Self.uint16(UInt16(record.ttl & 0xFFFF))
        var data: [UInt8] = []
        switch record.data {
        case .srv(let priority, let weight, let port, let target):
            data = Self.uint16(priority) + Self.uint16(weight) + Self.uint16(port)
            try DNSName.encode(target, into: &data)
        case .a(let address):
            data = Self.uint16(UInt16(address >> 16)) + Self.uint16(UInt16(address & 0xFFFF))
        case .aaaa(let high, let low):
            data = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
        case .ptr(let name), .cname(let name):
            try DNSName.encode(name, into: &data)
        case .txt(let strings):
            for string in strings {
                guard string.count <= 255 else {
                    throw DiscoveryError(.invalidArgument, "a TXT string is longer than 255 bytes")
                }
                data.append(UInt8(string.count))
                data += string
            }
            // RFC 6763 section 6.1: an empty TXT record is one empty string.
            if strings.isEmpty { data = [0] }
        case .soa, .other:
            throw DiscoveryError(.invalidArgument, "cannot write a \(record.type) record")
        }
        guard data.count <= Int(UInt16.max) else {
            throw DiscoveryError(.invalidArgument, "a \(record.type) record's data is too long")
        }
        bytes += Self.uint16(UInt16(data.count)) + data
        add(to: section.rawValue)
    }

    private mutating func add(to section: Int) {
        counts[section] += 1
        bytes[4 + 2 * section] = UInt8(counts[section] >> 8)
        bytes[5 + 2 * section] = UInt8(counts[section] & 0xFF)
    }

    private static func uint16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}
