import Discovery

/// Domain names as text: checking, comparing and putting them on the wire.
public enum DNSName {
    /// The longest name on the wire, length bytes included (RFC 1035 section 2.3.4).
    public static let maximumWireLength = 255
    /// The longest label.
    public static let maximumLabelLength = 63

    /// `name` without a final dot; the root stays `.`.
    public static func relative(_ name: String) -> String {
        name.count > 1 && name.hasSuffix(".") ? String(name.dropLast()) : name
    }

    /// Whether two names are the same, ignoring ASCII case (RFC 4343).
    public static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.utf8
        let right = rhs.utf8
        guard left.count == right.count else { return false }
        return zip(left, right).allSatisfy { lower($0) == lower($1) }
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Appends `name` in wire form: labels separated by dots, a final dot optional, in the text
    /// form the decoder writes (dig's): printable ASCII as is, `\.` and `\\` for a dot or a
    /// backslash inside a label, `\DDD` for any other byte. A DNS-SD instance name taken from a
    /// PTR answer (`My\032Printer._http._tcp.local`) goes back on the wire as it came.
    ///
    /// Throws `DiscoveryError/Code/invalidArgument` for an empty label, a label longer than 63
    /// bytes, a name longer than 255, a space, a byte outside ASCII or a control byte that is
    /// not escaped, or a bad escape.
    public static func encode(_ name: String, into bytes: inout [UInt8]) throws(DiscoveryError) {
        var wireLength = 1
        for label in try labels(name) {
            guard label.count <= maximumLabelLength else {
                throw DiscoveryError(
                    .invalidArgument, "invalid DNS name '\(name)': a label is longer than 63 bytes")
            }
            wireLength += 1 + label.count
            guard wireLength <= maximumWireLength else {
                throw DiscoveryError(.invalidArgument, "invalid DNS name '\(name)': longer than 255 bytes")
            }
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    /// The labels of `name`, in the text form ``encode(_:into:)`` takes, as bytes: escapes
    /// undone, no final empty label; none for the root (`.`). A DNS-SD instance name's first
    /// label is the instance's own name (`My Printer`), UTF-8 as its owner wrote it.
    public static func labels(_ name: String) throws(DiscoveryError) -> [[UInt8]] {
        func fail(_ why: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "invalid DNS name '\(name)': \(why)")
        }
        guard name != "." else { return [] }
        let text = Array(name.utf8)
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var index = 0
        func endLabel() throws(DiscoveryError) {
            guard !label.isEmpty else { throw fail("empty label") }
            labels.append(label)
            label.removeAll(keepingCapacity: true)
        }
        while index < text.count {
            let byte = text[index]
            switch byte {
            case UInt8(ascii: "."):
                try endLabel()
                index += 1
                if index == text.count { return labels }  // the optional final dot
            case UInt8(ascii: "\\"):
                guard index + 1 < text.count else { throw fail("it ends in a backslash") }
                let next = text[index + 1]
                if next >= 0x30 && next <= 0x39 {
                    guard index + 3 < text.count,
                        text[(index + 1)...(index + 3)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
                    else { throw fail("\\DDD takes three digits") }
                    let value = text[(index + 1)...(index + 3)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
                    guard value <= 255 else { throw fail("\\DDD above 255") }
                    label.append(UInt8(value))
                    index += 4
                } else {
                    guard next > 0x20 && next < 0x7F else {
                        throw fail("a backslash before a byte that is not printable")
                    }
                    label.append(next)
                    index += 2
                }
            default:
                guard byte > 0x20 && byte < 0x7F else {
                    throw fail("a space, a control byte or a byte outside ASCII must be written \\DDD")
                }
                label.append(byte)
                index += 1
            }
            // Bounded before it is built: a label past 63 bytes is refused by the encoder anyway.
            guard label.count <= 255 else { throw fail("a label is longer than 63 bytes") }
        }
        try endLabel()
        return labels
    }
}

extension DNSName {
    /// One label in the text form ``encode(_:into:)`` takes: printable ASCII as is, `.` and `\`
    /// escaped with a backslash, any other byte as `\DDD` (a DNS-SD instance name such as
    /// `My Printer` becomes `My\032Printer`).
    public static func escaped(label: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        for byte in label {
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") {
                text += [UInt8(ascii: "\\"), byte]
            } else if byte > 0x20 && byte < 0x7F {
                text.append(byte)
            } else {
                text += [UInt8(ascii: "\\"), 0x30 + byte / 100, 0x30 + byte / 10 % 10, 0x30 + byte % 10]
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
