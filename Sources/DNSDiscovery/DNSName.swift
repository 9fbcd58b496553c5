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

    /// Appends `name` (letters, digits, `-`, `_`, dots; a final dot optional) in wire form.
    ///
    /// Throws `DiscoveryError/Code/invalidArgument` for an empty label, a label longer than 63
    /// bytes, a name longer than 255, or a byte the toolkit does not send.
    public static func encode(_ name: String, into bytes: inout [UInt8]) throws(DiscoveryError) {
        func fail(_ why: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "invalid DNS name '\(name)': \(why)")
        }
        let text = relative(name)
        guard text != "." else {
            bytes.append(0)
            return
        }
        var wireLength = 1
        for label in text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw fail("empty label") }
            guard label.count <= maximumLabelLength else { throw fail("a label is longer than 63 bytes") }
            guard label.allSatisfy(isHostNameByte) else {
                throw fail("only letters, digits, '-' and '_' go in a label")
            }
            wireLength += 1 + label.count
            guard wireLength <= maximumWireLength else { throw fail("longer than 255 bytes") }
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
    }

    static func isHostNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F
    }
}
