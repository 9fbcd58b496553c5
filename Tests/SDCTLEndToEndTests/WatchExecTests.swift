import Foundation
import TestSupport
import Testing

/// `watch --exec CMD`, and `watch` with several targets.
@Suite("sdctl watch --exec and several targets")
struct WatchExecTests {
    @Test(
        "a burst of changes coalesces: never two runs at once, fewer runs than changes, the last sees the end"
    )
    func coalescing() async throws {
        try await withSDCTLHome("sdctl-exec") { home, env in
            let runs = home.path + "/runs"
            // Each run takes 300 ms, records what it got, and notices if another run overlaps it.
            let handler = """
                mkdir \(home.path)/running 2>/dev/null || echo OVERLAP >> \(runs)
                count=$(grep -o '"address"' | wc -l)
                echo "run=$SDCTL_RUN instances=$SDCTL_INSTANCES stdin=$count added=$SDCTL_ADDED removed=$SDCTL_REMOVED" >> \(runs)
                sleep 0.3
                rmdir \(home.path)/running
                [ "$SDCTL_RUN" != 2 ]
                """
            try handler.write(toFile: home.path + "/handler.sh", atomically: true, encoding: .utf8)
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "--exec", "sh \(home.path)/handler.sh"],
                environment: env)
            try await watcher.line { $0.hasSuffix("0 instances") }
            var registrars: [RunningProcess] = []
            for port in 9101...9108 {
                registrars.append(
                    try RunningProcess(
                        RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)"], environment: env))
            }
            for registrar in registrars { try await registrar.line { !$0.isEmpty } }
            try await watcher.line { $0.hasSuffix("(8 instances)") }
            try await eventually(.seconds(10), "a run that saw all 8") {
                ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").contains("instances=8 stdin=8")
            }
            let lines = try String(contentsOfFile: runs, encoding: .utf8).split(separator: "\n")
            #expect(!lines.contains("OVERLAP"))
            #expect(lines.count < 9, "8 changes and the first set coalesced into fewer runs: \(lines)")
            #expect(lines.first == "run=1 instances=0 stdin=0 added=0 removed=0")
            let added = lines.compactMap {
                $0.split(separator: " ").first { $0.hasPrefix("added=") }?.dropFirst(6)
            }
            #expect(
                added.compactMap { Int($0) }.reduce(0, +) == 8,
                "every join counted once across the runs: \(lines)")
            try await eventually(.seconds(10), "the failing run reported on stderr") {
                watcher.stderr.contains("sdctl: --exec run 2: exit 1; it runs again at the next change")
            }
            // The watch went on after the failing run, and runs again at the next change.
            registrars[0].signal(SIGTERM)
            #expect(try await registrars[0].wait() == 0)
            try await eventually(.seconds(10), "a run after the leave") {
                ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").contains(
                    "instances=7 stdin=7 added=0 removed=1")
            }
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
            for registrar in registrars.dropFirst() { registrar.signal(SIGTERM) }
            for registrar in registrars.dropFirst() { #expect(try await registrar.wait() == 0) }
        }
    }

    @Test("SIGTERM during a run: the watch waits for the run to finish, then exits 143")
    func signalWaitsForRun() async throws {
        try await withSDCTLHome("sdctl-exec-term") { home, env in
            let handler = "touch \(home.path)/started; sleep 0.5; touch \(home.path)/finished"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "--exec", handler], environment: env)
            try await eventually(.seconds(10), "the first run to start") {
                FileManager.default.fileExists(atPath: home.path + "/started")
            }
            watcher.signal(SIGTERM)
            #expect(try await watcher.wait() == 143)
            #expect(
                FileManager.default.fileExists(atPath: home.path + "/finished"), "the run was not cut short")
        }
    }

    @Test("two targets: each line says which target it is from")
    func severalTargets() async throws {
        try await withSDCTLHome("sdctl-watch-two") { home, env in
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "api", "-o", "json", "--count", "3"], environment: env)
            try await watcher.line { $0.contains(#""target":"api""#) }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "api", "127.0.0.1:9201"], environment: env)
            try await registrar.line { !$0.isEmpty }
            #expect(try await watcher.wait() == 0)
            #expect(watcher.lines.filter { $0.contains(#""target":"web""#) }.count == 1)
            let join = watcher.lines.last ?? ""
            #expect(join.contains(#""target":"api","confirmed":""#), "\(join)")
            #expect(join.contains(#""stale":false,"instances":[{"address":"127.0.0.1:9201""#), "\(join)")

            // --exec with two targets runs once both have answered, with both on stdin.
            let runs = home.path + "/runs"
            let handler = #"echo "$SDCTL_RUN [$SDCTL_TARGET] $SDCTL_INSTANCES $(cat)" >> "# + runs
            let both = try await runSDCTL(
                ["watch", "web", "api", "--count", "2", "--exec", handler], environment: env)
            #expect(both.status == 0, "\(both.stderr)")
            let recorded = try String(contentsOfFile: runs, encoding: .utf8)
            #expect(
                recorded.hasPrefix(
                    #"1 [web api] 1 [{"target":"web","instances":[]},{"target":"api","instances":[{"#),
                "\(recorded)")
            #expect(recorded.split(separator: "\n").count == 1)
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }
}
