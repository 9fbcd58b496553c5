import DNSDiscovery
import Testing

/// RFC 6763 section 6's rules for the key/value pairs of a DNS-SD TXT record.
@Suite("DNS-SD TXT records")
struct DNSSDTXTRecordTests {
    func record(_ strings: [String]) -> DNSSDTXTRecord {
        DNSSDTXTRecord(strings: strings.map { Array($0.utf8) })
    }

    @Test("key=value, key= (empty), a bare key (true); keys case-insensitive, the first occurrence wins")
    func rules() {
        let txt = record(["path=/api", "Empty=", "secure", "PATH=/other", "a=b=c", "path="])
        #expect(txt.keys == ["path", "empty", "secure", "a"])
        #expect(txt.values["path"] == .some(Array("/api".utf8)))
        #expect(txt.values["empty"] == .some([]))
        #expect(txt.values["secure"] == .some(nil))
        #expect(txt.metadata == ["path": "/api", "empty": "", "secure": "true", "a": "b=c"])
    }

    @Test("empty strings, strings without a key and keys with bytes outside printable ASCII are ignored")
    func ignored() {
        let strings: [[UInt8]] = [
            [], Array("=value".utf8), [0x6B, 0x07, 0x3D, 0x31], [0xC3, 0xA9, 0x3D, 0x31], Array("ok=1".utf8),
        ]
        let txt = DNSSDTXTRecord(strings: strings)
        #expect(txt.keys == ["ok"])
        // RFC 6763 6.1: an empty TXT record is a single empty string.
        #expect(DNSSDTXTRecord(strings: [[]]).keys.isEmpty)
    }

    @Test("values are bytes: binary and invalid UTF-8 survive in values, metadata replaces what is not UTF-8")
    func binaryValues() {
        let txt = DNSSDTXTRecord(strings: [Array("k=".utf8) + [0xFF, 0x00, 0x41]])
        #expect(txt.values["k"] == .some([0xFF, 0x00, 0x41]))
        #expect(txt.metadata["k"] == "\u{FFFD}\u{0}A")
    }

    @Test("a record of 255 strings of 255 bytes, all one key, keeps the first and nothing else")
    func many() {
        let strings = (0..<255).map { index in
            Array("k=".utf8) + Array(repeating: UInt8(0x30 + index % 10), count: 253)
        }
        let txt = DNSSDTXTRecord(strings: strings)
        #expect(txt.keys == ["k"])
        #expect(txt.values["k"]??.first == 0x30)
    }
}
