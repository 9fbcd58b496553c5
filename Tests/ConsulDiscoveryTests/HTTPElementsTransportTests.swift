import Discovery
import DiscoveryHTTP
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `HTTPTransport.sendForElements` against a server that sends a body of no stated length:
/// the bytes are counted as they arrive, and blank space between elements is let go of.
@Suite("HTTP answers read element by element")
struct HTTPElementsTransportTests {
    struct Item: Decodable {
        var id: Int
    }

    /// Answers every request with `[`, BLANK bytes of spaces, then `{"id": 7}]`, over HTTP/1.0
    /// with no Content-Length: the body ends with the connection.
    static let server = #"""
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
        blank = int(sys.argv[2])
        while True:
            c, _ = s.accept(); c.recv(65536)
            try:
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                for _ in range(blank // 65536):
                    c.sendall(b" " * 65536)
                c.sendall(b'{"id": 7}]')
            except OSError:
                pass
            c.close()
        """#

    @Test("a body of no stated length is refused once past the limit; blank space is no element")
    func countedAsItArrives() async throws {
        let port = try FreePorts.take(1)[0]
        let server = try RunningProcess(
            "/usr/bin/python3", ["-c", Self.server, "\(port)", "\(3 << 20)"], environment: [:])
        defer { server.signal(SIGKILL) }
        try await eventually(.seconds(10), "the server to listen") { TCPConnections.canConnect(toPort: port) }
        let transport = try HTTPTransport(
            service: "consul", peer: "agent", address: .http(HostPort(host: "127.0.0.1", port: UInt16(port))),
            tls: .init(
                caFile: nil, caDirectory: nil, certificateFile: nil, keyFile: nil, serverName: nil,
                verify: true,
                names: ("CA", "CAPATH", "CERT", "KEY")),
            connectTimeout: .seconds(5), requestTimeout: .seconds(30),
            logger: RecordingLogHandler.logger(RecordingLogHandler.Messages()))
        defer { transport.close() }
        // 3 MiB of spaces before the element, past the 1 MiB an element may be: not counted.
        let answer = try await transport.sendForElements(
            "/x", what: "x", elements: "items", of: Item.self, limit: 10, bodyLimit: 8 << 20
        ) { $0.id }
        #expect(answer.values == [7])
        let error = await #expect(throws: DiscoveryError.self) {
            try await transport.sendForElements(
                "/x", what: "x", elements: "items", of: Item.self, limit: 10, bodyLimit: 2 << 20
            ) { $0.id }
        }
        #expect(error?.code == .invalidResponse)
        #expect(error?.message == "consul: x: agent http://127.0.0.1:\(port) sent a reply over 2 MiB")
    }
}
