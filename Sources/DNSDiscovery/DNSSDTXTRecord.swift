/// The key/value pairs of a DNS-SD TXT record (RFC 6763 section 6), read from its
/// character-strings.
///
/// Each string is `key=value`, `key=` (an empty value) or a bare `key` (a boolean attribute,
/// present without a value). Keys are compared without regard to ASCII case and kept
/// lowercased; the first occurrence of a key wins and later ones are ignored; a string that is
/// empty, starts with `=`, or whose key has a byte outside printable US-ASCII is ignored, as the
/// RFC says a client must. Values are bytes; ``metadata`` reads them as UTF-8.
public struct DNSSDTXTRecord: Sendable, Hashable {
    /// The keys, lowercased, in the order they first appear.
    public private(set) var keys: [String] = []
    /// Each key's value: nil for a bare key, empty for `key=`.
    public private(set) var values: [String: [UInt8]?] = [:]

    public init(strings: [[UInt8]]) {
        for string in strings {
            let equals = string.firstIndex(of: UInt8(ascii: "=")) ?? string.count
            guard equals > 0 else { continue }
            let key = string[..<equals]
            guard key.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { continue }
            let name = String(decoding: key.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
            guard values[name] == nil else { continue }
            keys.append(name)
            values.updateValue(equals < string.count ? Array(string[(equals + 1)...]) : nil, forKey: name)
        }
    }

    /// As instance metadata: each value as UTF-8 (invalid bytes replaced), a bare key as
    /// `true`.
    public var metadata: [String: String] {
        var metadata: [String: String] = [:]
        for key in keys {
            metadata[key] = values[key]!.map { String(decoding: $0, as: UTF8.self) } ?? "true"
        }
        return metadata
    }
}
