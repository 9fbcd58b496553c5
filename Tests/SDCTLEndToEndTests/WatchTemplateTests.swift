import Foundation
import TestSupport
import Testing

/// Issue #29: `watch --template`, `--wait`, `--once` and `--changes-only` on the file backend.
@Suite("sdctl watch --template")
struct WatchTemplateTests {
    static let upstream = """
        upstream web {
            {{#instances}}
            server {{address}};
            {{/instances}}
            {{^instances}}
            server 127.0.0.1:1 down;
            {{/instances}}
        }

        """

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    func inode(_ path: String) -> UInt64? {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
    }

    @Test("renders after quiet, keeps DEST's mode, and runs CMD only when DEST's bytes changed")
    func renders() async throws {
        try await withSDCTLHome("sdctl-template") { home, env in
            let addresses = home.path + "/addresses.mustache"
            let metadata = home.path + "/metadata.mustache"
            let reloads = home.path + "/reloads"
            // A renders addresses only; B metadata too. One worker renders A, then B, each round.
            try Self.upstream.write(toFile: addresses, atomically: true, encoding: .utf8)
            try "{{#instances}}{{address}}{{#metadata}} {{key}}={{value}}{{/metadata}}\n{{/instances}}".write(
                toFile: metadata, atomically: true, encoding: .utf8)
            let a = home.path + "/a.conf"
            let b = home.path + "/b.conf"
            let watcher = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "watch", "web", "--plain", "--wait", "3s:15s",
                    "--template", "\(addresses):\(a):echo A >> \(reloads)",
                    "--template", "\(metadata):\(b):echo B >> \(reloads)",
                ],
                environment: env)
            // The first set renders at once, --wait or not.
            try await eventually(.seconds(10), "the first round") { read(reloads) == "A\nB\n" }
            #expect(read(a)?.contains("127.0.0.1:1 down;") == true)
            #expect(chmod(a, 0o640) == 0)

            let first = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:9301", "--id", "one"], environment: env)
            try await first.line { !$0.isEmpty }
            try await eventually(.seconds(20), "the round with the instance") {
                read(reloads) == "A\nB\nA\nB\n"
            }
            #expect(read(a) == "upstream web {\n    server 127.0.0.1:9301;\n}\n")
            var status = stat()
            #expect(stat(a, &status) == 0 && status.st_mode & 0o7777 == 0o640, "the mode was kept")
            let inodeBefore = inode(a)

            // The same address again with metadata, within the quiet period: one round, in which
            // A renders the same bytes (not written, no reload) and B does not.
            first.signal(SIGTERM)
            #expect(try await first.wait() == 0)
            let again = try RunningProcess(
                RunningProcess.sdctl,
                ["register", "web", "127.0.0.1:9301", "--id", "one", "--meta", "version=2"], environment: env)
            try await again.line { !$0.isEmpty }
            try await watcher.line { $0.contains("+127.0.0.1:9301") }
            try await eventually(.seconds(20), "B's reload for the metadata") {
                read(reloads) == "A\nB\nA\nB\nB\n"
            }
            #expect(read(b)?.contains("127.0.0.1:9301") == true && read(b)?.contains("version=2") == true)
            #expect(inode(a) == inodeBefore, "A's bytes did not change, so it was not replaced")
            again.signal(SIGTERM)
            #expect(try await again.wait() == 0)
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("a reader looping over DEST never sees a partial file while instances churn")
    func atomic() async throws {
        try await withSDCTLHome("sdctl-template-atomic") { home, env in
            let source = home.path + "/big.mustache"
            let destination = home.path + "/big.conf"
            // Each instance renders 4 KiB, so a render is several writes long.
            let padding = String(repeating: "#", count: 4096)
            try "BEGIN\n{{#instances}}\(padding) {{address}}\n{{/instances}}END\n".write(
                toFile: source, atomically: true, encoding: .utf8)
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "web", "--plain", "--template", "\(source):\(destination)"],
                environment: env)
            try await eventually(.seconds(10), "the first render") { read(destination) != nil }
            // On a thread of its own at the lowest priority: a reader spinning on one of the two
            // threads of the cooperative pool, beside another test's, held both for ever in CI,
            // and at normal priority it starved the tests beside it.
            let stop = StopFlag()
            let reader = Task {
                try await offPoolAtLowPriority {
                    var reads = 0
                    var partial = 0
                    while !stop.isSet {
                        guard let text = try? String(contentsOfFile: destination, encoding: .utf8) else {
                            continue
                        }
                        reads += 1
                        if !text.hasPrefix("BEGIN\n") || !text.hasSuffix("END\n") { partial += 1 }
                    }
                    return (reads, partial)
                }
            }
            // The reader's loop knows no cancellation: a failure below must end it too.
            defer { stop.set() }
            var registrars: [RunningProcess] = []
            for port in 9401...9420 {
                registrars.append(
                    try RunningProcess(
                        RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)"], environment: env))
            }
            for registrar in registrars { try await registrar.line { !$0.isEmpty } }
            try await eventually(.seconds(20), "a render with all 20") {
                read(destination)?.components(separatedBy: "127.0.0.1:94").count == 21
            }
            for registrar in registrars { registrar.signal(SIGTERM) }
            for registrar in registrars { _ = try await registrar.wait() }
            try await eventually(.seconds(20), "a render with none") { read(destination) == "BEGIN\nEND\n" }
            stop.set()
            let (reads, partial) = try await reader.value
            #expect(reads > 0)
            #expect(partial == 0, "\(partial) of \(reads) reads saw a partial file")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("--once: exit 3 for an empty target, 0 with --allow-empty or instances, 1 when CMD fails")
    func once() async throws {
        try await withSDCTLHome("sdctl-template-once") { home, env in
            let source = home.path + "/upstream.mustache"
            let destination = home.path + "/web.conf"
            try Self.upstream.write(toFile: source, atomically: true, encoding: .utf8)
            let empty = try await runSDCTL(
                ["watch", "web", "--once", "--template", "\(source):\(destination)"], environment: env)
            #expect(empty.status == 3, "\(empty.stderr)")
            #expect(
                empty.stderr.contains("web has no instances; nothing was rendered or run"), "\(empty.stderr)")
            #expect(read(destination) == nil)
            let allowed = try await runSDCTL(
                ["watch", "web", "--once", "--allow-empty", "--template", "\(source):\(destination)"],
                environment: env)
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(read(destination)?.contains("down;") == true)

            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:9501"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let rendered = try await runSDCTL(
                ["watch", "web", "--once", "--template", "\(source):\(destination):test -s \(destination)"],
                environment: env)
            #expect(rendered.status == 0, "\(rendered.stderr)")
            #expect(read(destination)?.contains("server 127.0.0.1:9501;") == true)
            let failing = try await runSDCTL(
                ["watch", "web", "--once", "--exec", "exit 7"], environment: env)
            #expect(failing.status == 1)
            #expect(failing.stderr.contains("--exec run 1: exit 7"), "\(failing.stderr)")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("bad templates and options are exit 2 with one line: SRC:LINE:COLUMN for a template error")
    func errors() async throws {
        try await withSDCTLHome("sdctl-template-errors") { home, env in
            let source = home.path + "/bad.mustache"
            try "upstream {\n  {{#instances}}\n  server {{address}};\n}\n".write(
                toFile: source, atomically: true, encoding: .utf8)
            let unclosed = try await runSDCTL(
                ["watch", "web", "--template", "\(source):\(home.path)/out"], environment: env)
            #expect(unclosed.status == 2)
            #expect(
                unclosed.stderr == "sdctl: \(source):2:3: {{#instances}} is never closed\n",
                "\(unclosed.stderr)")
            for arguments in [
                ["--template", "\(home.path)/missing:\(home.path)/out"], ["--template", "nodest"],
                ["--wait", "1s"], ["--exec", "true", "--wait", "2s:1s"],
                ["--exec", "true", "--wait", "soon"],
                ["--exec", "true", "--once", "--count", "2"], ["--exec", "true", "--allow-empty"],
                ["--exec", "true", "--wait-first"],
            ] {
                let run = try await runSDCTL(["watch", "web"] + arguments, environment: env)
                #expect(run.status == 2, "\(arguments): \(run.stderr)")
                #expect(run.stderr.split(separator: "\n").count == 1, "\(arguments): \(run.stderr)")
            }
        }
    }

    @Test("--wait MIN:MAX renders once quiet, within its bounds; --changes-only skips the first set")
    func quiescence() async throws {
        try await withSDCTLHome("sdctl-template-wait") { home, env in
            let runs = home.path + "/runs"
            let watcher = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "watch", "web", "--plain", "--changes-only", "--wait", "1s:3s",
                    "--exec", "echo \"$SDCTL_INSTANCES $(date +%s%N)\" >> \(runs)",
                ],
                environment: env)
            try await watcher.line { $0.hasSuffix("0 instances") }
            // Changes 300 ms apart for about 4.5 s: never 1 s of quiet, so MAX (3 s) ends each wait.
            let start = ContinuousClock.now
            let startNanoseconds = UInt64(Date().timeIntervalSince1970 * 1e9)
            var registrars: [RunningProcess] = []
            for port in 9601...9615 {
                registrars.append(
                    try RunningProcess(
                        RunningProcess.sdctl, ["register", "web", "127.0.0.1:\(port)"], environment: env))
                try await registrars.last!.line { !$0.isEmpty }
                try await Task.sleep(for: .milliseconds(300))
            }
            let churn = ContinuousClock.now - start
            try await eventually(.seconds(15), "a run with all 15") {
                read(runs)?.split(separator: "\n").last?.hasPrefix("15 ") == true
            }
            let lines = read(runs)?.split(separator: "\n") ?? []
            // No run for the first (empty) set; fewer runs than changes; the first run came
            // within MAX of the first change (loaded machines: generous slack), not after the churn.
            #expect(!lines.contains { $0.hasPrefix("0 ") }, "\(lines)")
            #expect(lines.count >= 1 && lines.count < 15, "\(lines)")
            if churn > .seconds(4) { #expect(lines.count >= 2, "MAX cut the churn into bursts: \(lines)") }
            // The first run: not before MIN after the first change, and within MAX of it (plus 2 s
            // for a loaded machine's process starts).
            let firstRun = lines.first.flatMap { $0.split(separator: " ").last.flatMap { UInt64($0) } } ?? 0
            let delay = Double(Int64(firstRun) - Int64(startNanoseconds)) / 1e9
            #expect(delay >= 0.9 && delay <= 5.0, "the first run came \(delay) s after the first change")
            for registrar in registrars { registrar.signal(SIGTERM) }
            for registrar in registrars { _ = try await registrar.wait() }
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }
}
