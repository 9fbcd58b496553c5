import Discovery
import Testing

extension DiscoveryErrorTests {
    @Test(
        "a message is one line: control characters and bidi overrides are shown as escapes, the length bounded"
    )
    func messageIsOneLine() {
        let error = DiscoveryError(.unavailable, "etcd: range: \u{1B}[31mred\nsdctl: forged\u{202E}\u{9B}")
        #expect(error.message == #"etcd: range: \x1B[31mred\x0Asdctl: forged\u{202E}\u{9B}"#)
        let long = DiscoveryError(.invalidResponse, String(repeating: "A", count: 100_000))
        #expect(long.message.count < 4100 && long.message.hasSuffix("more characters)"))
        let plain = DiscoveryError(.notFound, "consul: no such service")
        #expect(plain.message == "consul: no such service")
    }
}
