import Foundation
import TestSupport
import Testing

/// `register --ready`: registration gated on a probe of the instance, and `--drain`.
@Suite("sdctl register --ready and --drain")
struct ReadyRegistrationTests {
    /// Each test gets its own SDCTL_HOME.
    func withHome(_ body: (String, [String: String]) async throws -> Void) async throws {
        try await withSDCTLHome("sdctl-ready") { home, env in try await body(home.path, env) }
    }

    @Test("registers only once a listener the test opens late accepts; not before")
    func waitsForListener() async throws {
        try await withHome { _, env in
            let port = try FreePorts.take(1)[0]
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "register", "web", "127.0.0.1:\(port)", "--id", "web-1", "--ready",
                    "tcp://127.0.0.1:\(port)",
                    "-v",
                ], environment: env)
            try await eventually(.seconds(10), "a failed probe") { registrar.stderr.contains("not ready") }
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
            #expect(registrar.lines.isEmpty)
            let listener = try TCPListener(port: port)
            defer { listener.close() }
            let opened = ContinuousClock.now
            try await registrar.line(within: .seconds(5)) { $0 == "web-1" }
            #expect(ContinuousClock.now - opened < .seconds(2), "probed every 250 ms until it passed")
            #expect(try await runSDCTL(["resolve", "web"], environment: env).lines == ["127.0.0.1:\(port)"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("probe failures in a row deregister; recovery registers again; both said on stderr")
    func lapseAndRecover() async throws {
        try await withHome { _, env in
            var listener = try TCPListener(port: FreePorts.take(1)[0])
            let port = listener.port
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "register", "web", "127.0.0.1:\(port)", "--ready", "tcp://127.0.0.1:\(port)",
                    "--probe-interval", "100ms", "--ready-failures", "2",
                ], environment: env)
            try await registrar.line { !$0.isEmpty }
            #expect(try await runSDCTL(["resolve", "web"], environment: env).lines == ["127.0.0.1:\(port)"])

            listener.close()
            try await eventually(.seconds(20), "the lapse on stderr") {
                registrar.stderr.contains("failed 2 probes in a row (Connection refused); deregistering")
            }
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)

            listener = try TCPListener(port: port)
            defer { listener.close() }
            try await eventually(.seconds(20), "the recovery on stderr") {
                registrar.stderr.contains("tcp://127.0.0.1:\(port) passes again; registered")
            }
            #expect(try await runSDCTL(["resolve", "web"], environment: env).lines == ["127.0.0.1:\(port)"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("never ready within --timeout: exit 124, the wrapped command stopped, nothing registered")
    func neverReady() async throws {
        try await withHome { home, env in
            let port = try FreePorts.take(1)[0]
            let started = ContinuousClock.now
            let result = try await runSDCTL(
                [
                    "register", "web", "127.0.0.1:\(port)", "--ready", "http://127.0.0.1:\(port)/healthz",
                    "--timeout", "1s", "--", "sh", "-c",
                    "trap 'echo TERM > \(home)/term; exit 0' TERM; "
                        + "while :; do sleep 0.05 & wait; done",
                ], environment: env)
            #expect(result.status == 124, "\(result.stderr)")
            // Without --timeout the wait has no end; the bound only has to be finite and clear of
            // the suite's busy start on 2 cores (5.3 s was seen there).
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(result.stderr.contains("http://127.0.0.1:\(port)/healthz did not pass within 1s"))
            #expect(try String(contentsOfFile: "\(home)/term", encoding: .utf8) == "TERM\n")
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("--ready takes only tcp:// and http:// URLs; its options need it")
    func readyUsage() async throws {
        try await withHome { _, env in
            for arguments in [
                ["--ready", "udp://127.0.0.1:53"], ["--ready", "tcp://127.0.0.1"],
                ["--ready", "http://h:1/a b"],
                ["--probe-interval", "1s"], ["--ready", "tcp://127.0.0.1:1", "--ready-failures", "0"],
            ] {
                let result = try await runSDCTL(
                    ["register", "web", "127.0.0.1:1"] + arguments, environment: env)
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1)
            }
        }
    }

    @Test("--drain: a watcher sees the instance leave a drain's length before the child gets SIGTERM")
    func drainOrder() async throws {
        try await withHome { home, env in
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "-o", "json"], environment: env)
            try await watcher.line { $0.contains(#""instances":[]"#) }
            let script = """
                trap 'date +%s.%N > \(home)/term; exit 3' TERM
                while :; do sleep 0.05 & wait; done
                """
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                ["register", "web", "127.0.0.1:7001", "--drain", "1s", "--", "sh", "-c", script],
                environment: env)
            try await registrar.line { !$0.isEmpty }
            try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.1:7001""#) }
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 3, "the child's own exit code: \(registrar.stderr)")
            #expect(registrar.stderr.contains("deregistered; stopping in 1s"))
            let removal = try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.1:7001""#) }
            let removedAt = try #require(Self.time(of: removal))
            let termText = try String(contentsOfFile: "\(home)/term", encoding: .utf8)
            let terminatedAt = try #require(Double(termText.trimmingCharacters(in: .whitespacesAndNewlines)))
            // The drain's second starts when the removal is made; the watcher stamps it when it
            // sees it, a few milliseconds later (0.997 s apart was measured).
            #expect(terminatedAt - removedAt >= 0.9, "left at \(removedAt), SIGTERM at \(terminatedAt)")
        }
    }

    /// The "time" of a `watch -o json` line, in seconds since the epoch.
    static func time(of line: String) -> Double? {
        guard let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let text = object["time"] as? String
        else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }
}
