import Foundation
import TestSupport
import Testing

@Suite("sdctl resolve --pick and bench balancer, end to end")
struct PickEndToEndTests {
    /// Three instances registered on the file backend with weights 2, 1 and 1 (metadata).
    func withThree(_ body: ([String: String]) async throws -> Void) async throws {
        let home = TemporaryDirectory("sdctl-pick")
        defer { home.remove() }
        let env = ["SDCTL_HOME": home.path, "NO_COLOR": "1"]
        var registrars: [RunningProcess] = []
        for (port, weight) in [(9001, 2), (9002, 1), (9003, 1)] {
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)", "--meta", "weight=\(weight)"],
                environment: env)
            try await registrar.line { !$0.isEmpty }
            registrars.append(registrar)
        }
        defer { for registrar in registrars { registrar.signal(SIGKILL) } }
        try await body(env)
    }

    @Test("round robin and weighted round robin pick in proportion; maglev keeps a key on one instance")
    func picks() async throws {
        try await withThree { env in
            let roundRobin = try await runSDCTL(
                ["resolve", "web", "--pick", "round-robin", "-n", "6"], environment: env)
            #expect(roundRobin.status == 0)
            #expect(roundRobin.lines.count == 6)
            #expect(Set(roundRobin.lines) == ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"])

            let weighted = try await runSDCTL(
                ["resolve", "web", "--pick", "weighted-round-robin", "-n", "4"], environment: env)
            #expect(weighted.lines.filter { $0 == "127.0.0.1:9001" }.count == 2)

            let first = try await runSDCTL(
                ["resolve", "web", "--pick", "maglev", "--key", "user-42"], environment: env)
            let again = try await runSDCTL(
                ["resolve", "web", "--pick", "maglev", "--key", "user-42"], environment: env)
            #expect(first.lines.count == 1)
            #expect(first.lines == again.lines)
            // With -n, the key's instance and then where each retry would go (Retry avoids the
            // instance that just failed).
            let retries = try await runSDCTL(
                ["resolve", "web", "--pick", "maglev", "--key", "user-42", "-n", "3"], environment: env)
            #expect(retries.lines.first == first.lines.first)
            #expect(retries.lines.count == 3)
            #expect(retries.lines[1] != retries.lines[0] && retries.lines[2] != retries.lines[1])

            // Leases are held while picking, so least-loaded never puts the second pick on the
            // first's instance (both candidates of the second include a free one).
            let json = try await runSDCTL(
                ["resolve", "web", "--pick", "least-loaded", "-n", "2", "-o", "json"], environment: env)
            let line = try #require(json.lines.first)
            #expect(line.hasPrefix(#"{"balancer":"least-loaded","picks":["#))
            #expect(!line.contains(#":2"#))
        }
    }

    @Test(
        "bad --pick usage is exit 2 with one line",
        arguments: [
            (["--pick", "fastest"], "--pick takes round-robin"),
            (["--key", "k"], "--key goes with --pick"),
            (
                ["--pick", "round-robin", "--key", "k"],
                "--key goes with a --pick balancer that takes a key (maglev)"
            ),
            (["--pick", "zone"], "--pick zone needs --zone"),
            (["--pick", "random", "-n", "0"], "--picks must be a whole number"),
        ])
    func badUsage(arguments: [String], message: String) async throws {
        let home = TemporaryDirectory("sdctl-pick")
        defer { home.remove() }
        let result = try await runSDCTL(
            ["resolve", "web"] + arguments, environment: ["SDCTL_HOME": home.path, "NO_COLOR": "1"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message))
        #expect(result.lines.isEmpty)
    }

    @Test("bench balancer runs a balancer and its simulation, in JSON")
    func benchBalancer() async throws {
        let result = try await runSDCTL(
            [
                "bench", "balancer", "--balancer", "peak-ewma", "--picks", "20000", "--requests", "2000",
                "-o", "json",
            ],
            environment: ["NO_COLOR": "1"], timeout: .seconds(60))
        #expect(result.status == 0)
        let line = try #require(result.lines.first)
        #expect(line.contains(#""balancer":"peak-ewma""#))
        #expect(line.contains(#""ns_per_lease":"#))
        #expect(line.contains(#""requests_per_endpoint":["#))
    }
}
