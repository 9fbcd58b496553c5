import Foundation
import TestSupport
import Testing

@Suite("sdctl end to end, on the file backend")
struct EndToEndTests {
    /// Each test gets its own SDCTL_HOME.
    func withHome(_ body: ([String: String]) async throws -> Void) async throws {
        let home = TemporaryDirectory("sdctl-e2e")
        defer { home.remove() }
        try await body(["SDCTL_HOME": home.path, "NO_COLOR": "1"])
    }

    @Test("resolve with nothing registered exits 3 and prints nothing")
    func resolveEmpty() async throws {
        try await withHome { env in
            let result = try await runSDCTL(["resolve", "web"], environment: env)
            #expect(result.status == 3)
            #expect(result.lines.isEmpty)
        }
    }

    @Test("register in one process; resolve and watch in others; SIGKILL the registrar and it vanishes")
    func registerResolveWatchKill() async throws {
        try await withHome { env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                ["register", "web", "127.0.0.1:8080", "--id", "web-1", "--tag", "blue"], environment: env)
            try await registrar.line { $0 == "web-1" }
            let text = try await runSDCTL(["resolve", "web"], environment: env)
            #expect(text.status == 0)
            #expect(text.lines == ["127.0.0.1:8080"])
            let json = try await runSDCTL(["resolve", "web", "-o", "json"], environment: env)
            #expect(json.lines.count == 1)
            #expect(json.lines.first?.hasPrefix(#"{"confirmed":""#) == true, "\(json.lines)")
            #expect(
                json.lines.first?.hasSuffix(
                    #","stale":false,"instances":[{"address":"127.0.0.1:8080","id":"web-1","tags":["blue"],"metadata":{}}]}"#
                ) == true, "\(json.lines)")

            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "-o", "json", "--count", "2"], environment: env)
            try await watcher.line { $0.contains(#""instances":[{"address":"127.0.0.1:8080""#) }
            registrar.signal(SIGKILL)
            let killed = ContinuousClock.now
            let removal = try await watcher.line(within: .seconds(5)) {
                $0.contains(#""removed":[{"address":"127.0.0.1:8080""#)
            }
            #expect(ContinuousClock.now - killed < .seconds(1))
            #expect(removal.contains(#""instances":[]"#))
            #expect(removal.hasPrefix(#"{"time":""#))
            #expect(try await watcher.wait() == 0)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("SIGTERM and SIGINT deregister and exit 0", arguments: [SIGTERM, SIGINT])
    func signalDeregisters(signal: Int32) async throws {
        try await withHome { env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "[::1]:9000"], environment: env)
            try await registrar.line { !$0.isEmpty }
            #expect(try await runSDCTL(["resolve", "web"], environment: env).lines == ["[::1]:9000"])
            registrar.signal(signal)
            #expect(try await registrar.wait() == 0)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("-- CMD: the child is registered while it runs, and its exit code is sdctl's")
    func wrappedCommand() async throws {
        try await withHome { env in
            let script = "sdctl resolve web --wait-for 1 --timeout 5s; exit 7"
            let result = try await runSDCTL(
                ["register", "web", "127.0.0.1:7000", "--", "sh", "-c", script], environment: env)
            #expect(result.status == 7)
            #expect(result.lines.contains("127.0.0.1:7000"), "the child saw its own registration")
            #expect(
                try await runSDCTL(["resolve", "web"], environment: env).status == 3,
                "deregistered after the child")
        }
    }

    @Test("-- CMD: a child killed by a signal gives 128+signal")
    func wrappedKilled() async throws {
        try await withHome { env in
            let result = try await runSDCTL(
                ["register", "web", "127.0.0.1:7001", "--", "sh", "-c", "kill -KILL $$"], environment: env)
            #expect(result.status == 128 + SIGKILL)
        }
    }

    @Test("-- CMD: signals are forwarded to the child")
    func wrappedForwardsSignals() async throws {
        try await withHome { env in
            let script = "trap 'exit 5' TERM; while :; do sleep 0.05; done"
            let wrapper = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:7002", "--", "sh", "-c", script],
                environment: env)
            try await wrapper.line { !$0.isEmpty }
            wrapper.signal(SIGTERM)
            #expect(try await wrapper.wait() == 5)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("-- CMD: a command that does not exist exits 127 with one line")
    func wrappedMissing() async throws {
        try await withHome { env in
            let result = try await runSDCTL(
                ["register", "web", "127.0.0.1:7003", "--", "no-such-command-xyz"], environment: env)
            #expect(result.status == 127)
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("deregister removes by address and is idempotent")
    func deregister() async throws {
        try await withHome { env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:8081", "--id", "x1"], environment: env)
            try await registrar.line { $0 == "x1" }
            let removed = try await runSDCTL(["deregister", "web", "127.0.0.1:8081"], environment: env)
            #expect(removed.status == 0)
            #expect(removed.lines == ["x1"])
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
            let again = try await runSDCTL(["deregister", "web", "x1"], environment: env)
            #expect(again.status == 0)
            #expect(again.stderr.contains("nothing to do"))
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("resolve --wait-for exits 124 on --timeout and prints what it saw")
    func waitForTimeout() async throws {
        try await withHome { env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:8082"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let result = try await runSDCTL(
                ["resolve", "web", "--wait-for", "2", "--timeout", "300ms"], environment: env)
            #expect(result.status == 124)
            #expect(result.lines == ["127.0.0.1:8082"])
            #expect(result.stderr.contains("timed out"))
            registrar.signal(SIGTERM)
            try await registrar.wait()
        }
    }

    @Test("resolve --wait-for returns as soon as enough instances are there")
    func waitForSucceeds() async throws {
        try await withHome { env in
            let waiter = try RunningProcess(
                RunningProcess.sdctl, ["resolve", "web", "--wait-for", "2"], environment: env)
            let one = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:1"], environment: env)
            let two = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:2"], environment: env)
            #expect(try await waiter.wait(timeout: .seconds(10)) == 0)
            #expect(waiter.lines == ["127.0.0.1:1", "127.0.0.1:2"])
            one.signal(SIGTERM)
            two.signal(SIGTERM)
            try await one.wait()
            try await two.wait()
        }
    }

    @Test("watch ends with 0 on --timeout, and prints changes in text")
    func watchText() async throws {
        try await withHome { env in
            let watcher = try RunningProcess(
                // Long enough for a second process to start and register on a loaded machine (10 s
                // was not, once, at the suite's busy start).
                RunningProcess.sdctl, ["watch", "web", "--timeout", "30s"], environment: env)
            try await watcher.line(within: .seconds(30)) { $0.hasSuffix("0 instances") }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:8083"], environment: env)
            try await watcher.line(within: .seconds(30)) {
                $0.contains("+127.0.0.1:8083") && $0.hasSuffix("(1 instance)")
            }
            registrar.signal(SIGTERM)
            try await watcher.line(within: .seconds(30)) { $0.contains("-127.0.0.1:8083") }
            #expect(try await watcher.wait(timeout: .seconds(60)) == 0)
        }
    }

    @Test("version, help and completion")
    func helpVersionCompletion() async throws {
        try await withHome { env in
            #expect(try await runSDCTL(["--version"], environment: env).status == 0)
            let help = try await runSDCTL(["help", "register"], environment: env)
            #expect(help.status == 0)
            #expect(help.lines.contains { $0.contains("--meta KEY=VALUE") })
            let bare = try await runSDCTL([], environment: env)
            #expect(bare.status == 2)
            let completion = try await runSDCTL(["completion", "fish"], environment: env)
            #expect(completion.status == 0)
            #expect(completion.lines.first?.contains("fish completion") == true)
        }
    }

    @Test("bench propagation measures rounds through a separate watcher process")
    func benchPropagation() async throws {
        try await withHome { env in
            for extra in [[], ["--separate-watcher"], ["--subscribers", "200"]] {
                let result = try await runSDCTL(
                    ["bench", "propagation", "bench-web", "--rounds", "20", "-o", "json"] + extra,
                    environment: env)
                #expect(result.status == 0, "\(result.stderr)")
                let line = try #require(result.lines.first)
                #expect(line.hasPrefix(#"{"register":{"p50_ms":"#))
                #expect(line.contains(#""deregister":{"p50_ms":"#))
                // HdrHistogram's percentile distribution: ends at 100% with every sample.
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [String: Any]])
                let steps = try #require(object["register"]?["distribution"] as? [[String: Any]])
                #expect(steps.count >= 5)
                #expect(steps.last?["percentile"] as? Double == 100)
                #expect(steps.last?["total_count"] as? Int == 20)
                let percentiles = steps.compactMap { $0["percentile"] as? Double }
                #expect(percentiles == percentiles.sorted())
            }
            let text = try await runSDCTL(
                ["bench", "propagation", "bench-web", "--rounds", "20"], environment: env)
            #expect(text.status == 0)
            let labels = ["p50", "p75", "p90", "p95", "p99", "p99.9", "max"]
            let bars = text.lines.filter { line in labels.contains { line.hasPrefix("  \($0) ") } }
            #expect(bars.count == 14, "seven percentile bars for each of the two: \(text.lines)")
            #expect(
                bars.allSatisfy {
                    $0.contains(" ms  ") && ($0.hasSuffix("█") || $0.last.map("▏▎▍▌▋▊▉".contains) == true)
                })
            #expect(
                bars.filter { $0.hasPrefix("  max ") }.allSatisfy {
                    $0.hasSuffix(String(repeating: "█", count: 40))
                })
            #expect(
                try await runSDCTL(["resolve", "bench-web"], environment: env).status == 3,
                "nothing left behind")
        }
    }

    @Test("bench balancer prints one result per balancer and thread count, and the simulation")
    func benchBalancer() async throws {
        try await withHome { env in
            let result = try await runSDCTL(
                [
                    "bench", "balancer", "--picks", "10000", "--threads", "3", "--requests", "200", "-o",
                    "json",
                ],
                environment: env, timeout: .seconds(120))
            #expect(result.status == 0)
            let line = try #require(result.lines.first)
            for name in [
                "round-robin", "random", "srv", "least-loaded", "peak-ewma", "maglev", "weighted-round-robin",
                "zone",
            ] {
                #expect(line.contains(#""balancer":"\#(name)","threads":1"#))
                #expect(line.contains(#""balancer":"\#(name)","threads":3"#))
                #expect(line.contains(#"{"balancer":"\#(name)","requests_per_endpoint":["#))
            }
            #expect(line.contains(#""ns_per_pick":"#))
            #expect(line.contains(#""ns_per_lease":"#))
        }
    }

    static let malformed: [[String]] = [
        ["frobnicate"], ["resolve"], ["deregister", "web", "x", "extra"], ["resolve", "web", "--nope"],
        ["resolve", "web", "-q"],
        ["resolve", "web", "--wait-for"], ["resolve", "web", "--wait-for", "0"],
        ["resolve", "web", "--wait-for", "two"],
        ["resolve", "web", "--wait-for", "-3"], ["resolve", "web", "--timeout", "10"],
        ["resolve", "web", "--timeout", "5 s"],
        ["resolve", "web", "--timeout", "-1s"], ["resolve", "web", "--timeout", "0s"],
        ["resolve", "web", "-o", "yaml"],
        ["resolve", "ftp://h/x"], ["resolve", "zk://h:70000/x"], ["resolve", "zk://h:2181"],
        ["resolve", "etcd://"],
        ["resolve", "consul://h/web?colour=red"], ["resolve", "file://host/dir"], ["resolve", "bad/name"],
        ["resolve", ".hidden"],
        ["watch", "web", "--count", "0"], ["watch", "web", "--count"], ["register", "web"],
        ["register", "web", "nohost"],
        ["register", "web", "h:0"], ["register", "web", "::1:80"],
        ["register", "web", "h:80", "--meta", "novalue"],
        ["register", "web", "h:80", "--ttl", "forever"], ["register", "web", "h:80", "--id", "../etc"],
        ["register", "web", "h:80", "--"], ["deregister", "web"], ["bench"],
        ["bench", "balancer", "--threads", "0"],
        ["bench", "balancer", "--balancer", "weighted"], ["bench", "propagation"], ["completion", "tcsh"],
        ["bench", "propagation", "web", "--subscribers", "0"],
        ["bench", "propagation", "web", "--subscribers", "2", "--separate-watcher"],
        ["help", "nope"],
        ["--timeout"], ["resolve", "web", "--no-color=1"],
    ]

    @Test("malformed invocations exit 2 with one line on stderr and nothing on stdout", arguments: malformed)
    func malformedInvocation(arguments: [String]) async throws {
        try await withHome { env in
            let result = try await runSDCTL(arguments, environment: env)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("sdctl: "))
            #expect(result.lines.isEmpty)
        }
    }
}
