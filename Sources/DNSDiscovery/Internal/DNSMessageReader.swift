import Discovery

/// Reads a DNS message from untrusted bytes, checking every length against what is left.
///
/// Compression pointers (RFC 1035 section 4.1.4) must each point strictly before the previous
/// jump's target, so following them always ends; a name longer than 255 bytes on the wire, a
/// label type other than 00 or 11, and a record whose data does not end where its length says
/// are errors.
struct DNSMessageReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    /// Names decoded whole from where they start, by that offset, so that a name that is only
    /// a compression pointer (every owner in a typical answer) shares the string already made
    /// instead of decoding and allocating it again. A few entries: the names pointed at whole
    /// are almost always the question's.
    private var decodedNames: [(offset: Int, name: String)] = []

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private func fail(_ why: String) -> DiscoveryError {
        DiscoveryError(.invalidResponse, "malformed DNS reply: \(why)")
    }

    mutating func readMessage() throws(DiscoveryError) -> DNSMessage {
        guard bytes.count >= 12 else { throw fail("\(bytes.count) bytes, shorter than a header") }
        let id = try readUInt16()
        let flags = try readUInt16()
        let counts = (try readUInt16(), try readUInt16(), try readUInt16(), try readUInt16())
        var message = DNSMessage(id: id, flags: flags)
        message.questions.reserveCapacity(min(Int(counts.0), (bytes.count - offset) / 5))
        for _ in 0..<counts.0 {
            let name = try readName()
            let type = DNSRecordType(rawValue: try readUInt16())
            message.questions.append(DNSQuestion(name: name, type: type, questionClass: try readUInt16()))
        }
        message.answers = try readRecords(Int(counts.1), section: "answer")
        message.authorities = try readRecords(Int(counts.2), section: "authority")
        var additionals = try readRecords(Int(counts.3), section: "additional", keepOPT: true)
        if let opt = additionals.firstIndex(where: { $0.type == .opt }) {
            message.ednsPayloadSize = additionals[opt].recordClass
            additionals.remove(at: opt)
        }
        message.additionals = additionals
        return message
    }

    private mutating func readRecords(_ count: Int, section: String, keepOPT: Bool = false)
        throws(DiscoveryError)
        -> [DNSResourceRecord]
    {
        var records: [DNSResourceRecord] = []
        guard count > 0 else { return records }
        // A record takes at least 11 bytes; more claimed than could fit is malformed, and the
        // capacity reserved never exceeds what the input could hold.
        guard count <= (bytes.count - offset) / 11 else {
            throw fail(
                "\(count) \(section) records claimed, more than \(bytes.count - offset) bytes can hold")
        }
        records.reserveCapacity(count)
        for _ in 0..<count {
            let record = try readRecord()
            if record.type == .opt && !keepOPT { continue }
            records.append(record)
        }
        return records
    }

    private mutating func readRecord() throws(DiscoveryError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16())
        let recordClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let end = offset + length
        guard end <= bytes.count else { throw fail("a \(type) record's data runs past the end") }
        let data: DNSResourceRecord.RecordData
        switch type {
        case .srv:
            guard length >= 7 else { throw fail("an SRV record of \(length) bytes") }
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            data = .srv(priority: priority, weight: weight, port: port, target: try readName())
        case .a:
            guard length == 4 else { throw fail("an A record of \(length) bytes") }
            data = .a(try readUInt32())
        case .aaaa:
            guard length == 16 else { throw fail("an AAAA record of \(length) bytes") }
            let high = UInt64(try readUInt32()) << 32 | UInt64(try readUInt32())
            let low = UInt64(try readUInt32()) << 32 | UInt64(try readUInt32())
            data = .aaaa(high: high, low: low)
        case .cname:
            data = .cname(try readName())
        case .ptr:
            data = .ptr(try readName())
        case .txt:
            // Length-prefixed strings filling the data exactly; what they hold is bounded by the
            // record's own length.
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(bytes[offset])
                guard offset + 1 + count <= end else { throw fail("a TXT string runs past its record") }
                strings.append(Array(bytes[(offset + 1)..<(offset + 1 + count)]))
                offset += 1 + count
            }
            data = .txt(strings)
        case .soa:
            let primary = try readName()
            _ = try readName()  // the mailbox
            guard offset + 20 <= end else { throw fail("an SOA record shorter than its fields") }
            offset += 16  // serial, refresh, retry, expire
            data = .soa(primary: primary, minimum: try readUInt32())
        default:
            offset = end
            data = .other(length: length)
        }
        guard offset == end else { throw fail("a \(type) record's data does not end where its length says") }
        return DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }

    private mutating func readUInt16() throws(DiscoveryError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw fail("cut off at byte \(offset)") }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    private mutating func readUInt32() throws(DiscoveryError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw fail("cut off at byte \(offset)") }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    /// A name at ``offset``, following compression pointers; ``offset`` moves past its inline part.
    private mutating func readName() throws(DiscoveryError) -> String {
        let start = offset
        if start + 1 < bytes.count, bytes[start] & 0xC0 == 0xC0 {
            let target = Int(bytes[start] & 0x3F) << 8 | Int(bytes[start + 1])
            if target < start, let known = decodedNames.first(where: { $0.offset == target }) {
                offset = start + 2
                return known.name
            }
        }
        let name = try decodeName()
        if decodedNames.count < 8 {
            if bytes[start] & 0xC0 == 0 {
                decodedNames.append((start, name))
            } else if bytes[start] & 0xC0 == 0xC0 {
                // The whole name is the one at the pointer's target.
                decodedNames.append((Int(bytes[start] & 0x3F) << 8 | Int(bytes[start + 1]), name))
            }
        }
        return name
    }

    private mutating func decodeName() throws(DiscoveryError) -> String {
        // The text form is at most 4 bytes per wire byte (`\DDD`), so 1024 bytes always suffice.
        let outcome = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) {
            text -> Result<String, DiscoveryError> in
            var length = 0
            var position = offset
            var limit = offset
            var wireLength = 1
            var jumped = false
            while true {
                guard position < bytes.count else { return .failure(fail("a name runs past the end")) }
                let byte = bytes[position]
                switch byte & 0xC0 {
                case 0x00:
                    if byte == 0 {
                        if !jumped { offset = position + 1 }
                        if length == 0 { return .success(".") }
                        return .success(
                            String(
                                decoding: UnsafeBufferPointer(rebasing: text[..<(length - 1)]), as: UTF8.self)
                        )
                    }
                    let labelLength = Int(byte)
                    guard position + 1 + labelLength <= bytes.count else {
                        return .failure(fail("a label runs past the end"))
                    }
                    wireLength += 1 + labelLength
                    guard wireLength <= DNSName.maximumWireLength else {
                        return .failure(fail("a name longer than 255 bytes"))
                    }
                    for index in (position + 1)...(position + labelLength) {
                        Self.appendEscaped(bytes[index], to: text, at: &length)
                    }
                    text[length] = UInt8(ascii: ".")
                    length += 1
                    position += 1 + labelLength
                case 0xC0:
                    guard position + 1 < bytes.count else {
                        return .failure(fail("a name runs past the end"))
                    }
                    let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                    guard target < limit else {
                        return .failure(
                            fail("a compression pointer at byte \(position) does not point backwards"))
                    }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    limit = target
                    position = target
                default:
                    return .failure(fail("label type \(byte >> 6) at byte \(position)"))
                }
            }
        }
        return try outcome.get()
    }

    /// Appends one label byte as dig prints it: printable ASCII as is, `.` and `\` escaped with a
    /// backslash, anything else as `\DDD`.
    @inline(__always)
    private static func appendEscaped(
        _ byte: UInt8, to text: UnsafeMutableBufferPointer<UInt8>, at length: inout Int
    ) {
        if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") {
            text[length] = UInt8(ascii: "\\")
            text[length + 1] = byte
            length += 2
        } else if byte > 0x20 && byte < 0x7F {
            text[length] = byte
            length += 1
        } else {
            text[length] = UInt8(ascii: "\\")
            text[length + 1] = 0x30 + byte / 100
            text[length + 2] = 0x30 + byte / 10 % 10
            text[length + 3] = 0x30 + byte % 10
            length += 4
        }
    }
}
