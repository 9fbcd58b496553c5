import Discovery
import Logging
import Testing

@testable import SDCTLKit

@Suite("Probes")
struct ProbeTests {
    let context = CommandContext(
        invocation: Invocation(path: ["resolve"], positionals: [], options: [], trailing: nil),
        environment: [:],
        output: Output(format: .text, color: false), timeout: nil, logger: .init(label: "test"))

    @Test("--probe kinds")
    func kinds() throws {
        #expect(try Probe.parse(kind: "tcp", timeout: .seconds(1), context).kind == .tcp)
        #expect(try Probe.parse(kind: "http", timeout: .seconds(1), context).kind == .http(path: "/"))
        #expect(
            try Probe.parse(kind: "http:/a/b?c=d", timeout: .seconds(1), context).kind
                == .http(path: "/a/b?c=d"))
        for bad in ["udp", "http:", "http:x", "http:/a b", "https"] {
            #expect(throws: CLIError.self) { try Probe.parse(kind: bad, timeout: .seconds(1), self.context) }
        }
    }

    @Test("--ready URLs")
    func urls() throws {
        let (tcp, tcpAddress) = try Probe.parse(url: "tcp://127.0.0.1:8080", timeout: .seconds(1), context)
        #expect(tcp.kind == .tcp && tcpAddress == HostPort(host: "127.0.0.1", port: 8080))
        let (http, httpAddress) = try Probe.parse(url: "HTTP://[::1]/healthz", timeout: .seconds(1), context)
        #expect(http.kind == .http(path: "/healthz") && httpAddress == HostPort(host: "::1", port: 80))
        let (root, _) = try Probe.parse(url: "http://localhost:81", timeout: .seconds(1), context)
        #expect(root.kind == .http(path: "/"))
        for bad in [
            "tcp://127.0.0.1", "tcp://h:1/x", "udp://h:1", "http://h:99999/", "http://h:1/a b", "h:1",
        ] {
            #expect(throws: CLIError.self) { try Probe.parse(url: bad, timeout: .seconds(1), self.context) }
        }
    }

    @Test("HTTP status lines")
    func statusLines() throws {
        #expect(try Probe.status(of: Array("HTTP/1.1 204 No Content".utf8)) == 204)
        #expect(try Probe.status(of: Array("HTTP/1.0 503".utf8)) == 503)
        for bad in ["HTTP/2 200 OK", "SSH-2.0-OpenSSH", "HTTP/1.1 20 OK", "HTTP/1.1 999 X", ""] {
            #expect(throws: ProbeFailure.self) { try Probe.status(of: Array(bad.utf8)) }
        }
    }

    @Test("a probe of a closed port fails fast; of a port that never answers, within its timeout")
    func failures() async throws {
        let refused = await Probe(kind: .tcp, timeout: .seconds(2)).check(
            HostPort(host: "127.0.0.1", port: 1))
        #expect(!refused.reachable && refused.failure == "Connection refused")
        let unresolvable = await Probe(kind: .tcp, timeout: .seconds(2)).check(
            HostPort(host: "no-such-host.invalid", port: 1))
        #expect(
            !unresolvable.reachable
                && unresolvable.failure?.hasPrefix("cannot resolve no-such-host.invalid") == true)
    }
}
