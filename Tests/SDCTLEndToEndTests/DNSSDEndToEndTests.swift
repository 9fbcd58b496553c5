import TestSupport
import Testing

/// sdctl on `dnssd://` targets (DNS-SD over unicast DNS) against a real Knot DNS server.
@Suite("sdctl end to end, on DNS-SD over unicast DNS", .serialized)
struct DNSSDEndToEndTests {
    let environment = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]

    @Test("resolve prints target:port, -o json carries the instance names and TXT pairs; NXDOMAIN exits 3")
    func resolve() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            let target = "dnssd://\(knot.address)/_http._tcp.example.test"
            let found = try await runSDCTL(["resolve", target], environment: environment)
            #expect(found.status == 0, "\(found.stderr)")
            #expect(found.lines == ["a.example.test:8080", "b.example.test:8081"])

            let json = try await runSDCTL(
                ["resolve", target + "?resolve=a", "-o", "json"], environment: environment)
            #expect(json.status == 0, "\(json.stderr)")
            let text = json.lines.joined()
            #expect(text.contains(#""address":"127.0.0.1:8080""#), "\(text)")
            #expect(text.contains(#""id":"web one""#), "\(text)")
            #expect(text.contains(#""path":"/api""#) && text.contains(#""secure":"true""#), "\(text)")

            let missing = try await runSDCTL(
                ["resolve", "dnssd://\(knot.address)/_nope._tcp.example.test"], environment: environment)
            #expect(missing.status == 3)
            #expect(missing.stderr.contains("does not exist (NXDOMAIN"), "\(missing.stderr)")
            #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        }
    }

    @Test("bad targets and register are usage errors (exit 2) in one line")
    func usage() async throws {
        for arguments in [
            ["resolve", "dnssd:///_http._xyz.example.com"], ["resolve", "dnssd:///http.example.com"],
            ["resolve", "dnssd:///_http._tcp.example.com?bogus=1"],
            ["register", "dnssd:///_http._tcp.example.com", "127.0.0.1:80"],
        ] {
            let result = try await runSDCTL(arguments, environment: environment)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }

    @Test("a server that never answers: resolve exits 69 within --timeout")
    func silent() async throws {
        let silent = MisbehavingDNSServer(behaviour: .silent)
        defer { silent.stop() }
        let started = ContinuousClock.now
        let result = try await runSDCTL(
            ["resolve", "dnssd://127.0.0.1:\(silent.port)/_http._tcp.example.test", "--timeout", "2s"],
            environment: environment)
        #expect(result.status == 69, "\(result.stderr)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
