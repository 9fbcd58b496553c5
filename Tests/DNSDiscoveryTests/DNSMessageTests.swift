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
