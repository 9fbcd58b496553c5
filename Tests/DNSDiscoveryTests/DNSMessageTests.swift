import Discovery
import Testing

@testable import DNSDiscovery

@Suite("DNS messages")
struct DNSMessageTests {
    @Test("a query carries the id, RD, the question and an OPT record advertising 1232 bytes")
    func query() throws {
        let bytes = try DNSMessage.query(id: 0xBEEF, name: "_x._tcp.example.test.", type: .srv)
        let message = try DNSMessage(decoding: bytes)
        #expect(message.id == 0xBEEF)
        #expect(message.flags == 0x0100)
        #expect(message.questions == [DNSQuestion(name: "_x._tcp.example.test", type: .srv)])
        #expect(message.ednsPayloadSize == 1232)
        #expect(message.additionals.isEmpty)
    }
}

/// Hand-made replies: what a server may legitimately send, and what a broken or hostile one
/// might.
@Suite("DNS reply decoding")
struct DNSReplyDecodingTests {
    /// A reply header: id 0x1234, QR RD RA, the given rcode and section counts.
    func header(rcode: UInt8 = 0, _ counts: (UInt16, UInt16, UInt16, UInt16)) -> [UInt8] {
        [0x12, 0x34, 0x81, 0x80 | rcode]
            + [counts.0, counts.1, counts.2, counts.3].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// `_x._tcp.example.test` at offset 12.
    let question: [UInt8] =
        [2, 0x5F, 0x78, 4, 0x5F, 0x74, 0x63, 0x70, 7] + Array("example".utf8) + [4] + Array("test".utf8) + [
            0, 0, 33, 0, 1,
        ]

    func expectMalformed(_ bytes: [UInt8], _ why: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: DiscoveryError.self, sourceLocation: sourceLocation) {
            try DNSMessage(decoding: bytes)
        }
        #expect(error?.code == .invalidResponse, sourceLocation: sourceLocation)
        #expect(
            error?.message.contains(why) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
    }

    @Test("compressed names: an SRV record whose owner and target point back into the question")
    func compression() throws {
        // Owner: pointer to 12. Target: "a" + pointer to "example.test" (offset 20).
        let record: [UInt8] = [
            0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, 10, 0, 1, 0, 2, 0x1F, 0x90, 1, 0x61, 0xC0, 20,
        ]
        let message = try DNSMessage(decoding: header((1, 1, 0, 0)) + question + record)
        #expect(message.id == 0x1234)
        #expect(message.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: "_x._tcp.example.test", type: .srv)])
        #expect(
            message.answers == [
                DNSResourceRecord(
                    name: "_x._tcp.example.test", type: .srv, ttl: 30,
                    data: .srv(priority: 1, weight: 2, port: 8080, target: "a.example.test"))
            ])
    }

    @Test("odd bytes in a label are escaped as dig prints them; the root is '.'")
    func escaping() throws {
        let name: [UInt8] = [4, 0x61, 0x2E, 0x5C, 0x07, 0]
        let message = try DNSMessage(decoding: header((1, 0, 0, 0)) + name + [0, 33, 0, 1])
        #expect(message.questions[0].name == #"a\.\\\007"#)
        let root = try DNSMessage(decoding: header((1, 0, 0, 0)) + [0, 0, 2, 0, 1])
        #expect(root.questions[0].name == ".")
    }

    @Test("NXDOMAIN with an SOA in the authority section")
    func negative() throws {
        let soa: [UInt8] =
            [0xC0, 20, 0, 6, 0, 1, 0, 0, 0, 60, 0, 29] + [2, 0x6E, 0x73, 0xC0, 20] + [1, 0x68, 0xC0, 20]
            + [0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88, 0, 1, 81, 128, 0, 0, 0, 5]
        let message = try DNSMessage(decoding: header(rcode: 3, (1, 0, 1, 0)) + question + soa)
        #expect(message.responseCode == .nameError)
        #expect(message.authorities.map(\.data) == [.soa(primary: "ns.example.test", minimum: 5)])
    }

    @Test("pointer loops and forward pointers are errors, never a hang")
    func pointerLoops() {
        // A name that is a pointer to itself.
        expectMalformed(header((1, 0, 0, 0)) + [0xC0, 12, 0, 33, 0, 1], "does not point backwards")
        // A label followed by a pointer back to that label.
        expectMalformed(header((1, 0, 0, 0)) + [1, 0x61, 0xC0, 12, 0, 33, 0, 1], "does not point backwards")
        // A pointer past the end.
        expectMalformed(header((1, 0, 0, 0)) + [0xFF, 0xFF], "does not point backwards")
        // Two pointers pointing at each other (the answer's owner at 38).
        expectMalformed(
            header((1, 1, 0, 0)) + question + [0xC0, 40, 0xC0, 38] + Array(repeating: 0, count: 10),
            "does not point backwards")
    }

    @Test("PTR and TXT records decode: a compressed PTR target, TXT strings as sent, empty ones included")
    func ptrAndTXT() throws {
        // PTR owner -> question; target "My\032Box" + pointer to the question's name.
        let ptr: [UInt8] =
            [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 9, 6] + Array("My Box".utf8) + [0xC0, 12]
        let txt: [UInt8] =
            [0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 9, 3] + Array("a=1".utf8) + [0, 3] + Array("b=2".utf8)
        let message = try DNSMessage(decoding: header((1, 2, 0, 0)) + question + ptr + txt)
        #expect(message.answers.map(\.type) == [.ptr, .txt])
        #expect(message.answers[0].data == .ptr(#"My\032Box._x._tcp.example.test"#))
        #expect(message.answers[1].data == .txt([Array("a=1".utf8), [], Array("b=2".utf8)]))
    }

    @Test("a TXT string that runs past its record, or a PTR target past its data, is an error")
    func malformedPTRAndTXT() {
        expectMalformed(
            header((1, 1, 0, 0)) + question + [0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 3, 5, 0x61, 0x62],
            "TXT string runs past its record")
        // A TXT record whose length points past the message.
        expectMalformed(
            header((1, 1, 0, 0)) + question + [0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 1, 0x61],
            "runs past the end")
        expectMalformed(
            header((1, 1, 0, 0)) + question + [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 1, 0, 2, 1, 0x61, 0],
            "does not end where its length says")
    }

    @Test("lengths that do not add up are errors")
    func lengths() {
        expectMalformed([0x12, 0x34, 0x81], "shorter than a header")
        expectMalformed(header((1, 0, 0, 0)) + [3, 0x61], "label runs past the end")
        expectMalformed(header((1, 0, 0, 0)) + [1, 0x61], "name runs past the end")
        expectMalformed(header((1, 0, 0, 0)) + [0x40, 0], "label type 1")
        expectMalformed(header((1, 0, 0, 0)) + question.dropLast(2), "cut off")
        // 65535 answers claimed in a small message: refused before anything is reserved.
        expectMalformed(header((1, 65535, 0, 0)) + question, "more than")
        // An A record of 5 bytes; an SRV record whose target overruns its length.
        expectMalformed(
            header((1, 1, 0, 0)) + question + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5],
            "A record of 5")
        expectMalformed(
            header((1, 1, 0, 0)) + question + [
                0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 1, 0, 7, 0, 1, 0, 1, 0, 80, 1, 0x61, 0,
            ],
            "does not end where its length says")
        // A name of more than 255 bytes on the wire.
        let label: [UInt8] = [63] + Array(repeating: 0x61, count: 63)
        let long: [UInt8] = Array(repeating: label, count: 5).flatMap { $0 } + [0]
        expectMalformed(header((1, 0, 0, 0)) + long + [0, 1, 0, 1], "longer than 255")
    }

    @Test("names the client sends are checked; escaped names go back on the wire as they came")
    func encoding() throws {
        for name in [
            "", "a..b", String(repeating: "a", count: 64) + ".b", "a b.c", "é.test", #"a\"#, #"a\25.b"#,
            #"a\256.b"#, #"a\x"# + "\u{7}",
        ] {
            #expect(throws: DiscoveryError.self, "\(name)") {
                try DNSMessage.query(id: 1, name: name, type: .srv)
            }
        }
        // Escaped as the decoder writes names: the same bytes go back on the wire.
        let escaped = #"My\032Box\.\\\195\169._http._tcp.example.test"#
        let message = try DNSMessage(decoding: try DNSMessage.query(id: 1, name: escaped, type: .srv))
        #expect(message.questions[0].name == escaped)
    }
}
