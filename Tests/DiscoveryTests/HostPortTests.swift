import Discovery
import Testing

@Suite("HostPort parsing")
struct HostPortTests {
    @Test(
        "valid addresses",
        arguments: [
            ("127.0.0.1:80", "127.0.0.1", 80), ("web.example.com:8080", "web.example.com", 8080),
            ("[::1]:443", "::1", 443), ("[2001:db8::1]:65535", "2001:db8::1", 65535),
            ("localhost:1", "localhost", 1),
        ])
    func valid(text: String, host: String, port: Int) throws {
        let parsed = try HostPort(parsing: text)
        #expect(parsed.host == host)
        #expect(Int(parsed.port) == port)
        #expect(parsed.description == text)
    }

    @Test(
        "invalid addresses",
        arguments: [
            "", "host", "host:", ":80", "host:0", "host:65536", "host:-1", "host:8o", "::1:80", "[::1]80",
            "[::1",
            "[zz::1]:80", "bad host:80", "host:80:90", ".host:80", "[]:80", "[1.2.3.4]:80",
        ])
    func invalid(text: String) {
        #expect(throws: DiscoveryError.self) { try HostPort(parsing: text) }
    }

    @Test("a default port fills in a missing one")
    func defaultPort() throws {
        #expect(try HostPort(parsing: "zk1", defaultPort: 2181).description == "zk1:2181")
        #expect(try HostPort(parsing: "[::1]", defaultPort: 2181).description == "[::1]:2181")
    }
}
