import Foundation
import TestSupport
import Testing

/// `sdctl ... | head -1`: a command whose stdout reader goes away ends promptly and quietly
/// with 141 (the status of a process ended by SIGPIPE), releasing what it holds.
@Suite("sdctl with a closed stdout")
struct ClosedOutputTests {
    func withHome(_ body: ([String: String]) async throws -> Void) async throws {
        let home = TemporaryDirectory("sdctl-pipe")
        defer { home.remove() }
        try await body(["SDCTL_HOME": home.path, "NO_COLOR": "1"])
    }

    /// Runs `sdctl ARGS | head -1` in bash and returns head's line, sdctl's status and stderr.
    func pipeline(_ arguments: String, _ env: [String: String]) async throws -> (
        line: String?, status: String, stderr: String
    ) {
        let shell = try RunningProcess(
            "/bin/bash", ["-c", "sdctl \(arguments) | head -1; echo \"status=${PIPESTATUS[0]}\" >&2"],
            environment: env)
        // A hang here is the bug: the pipeline never ends.
        #expect(try await shell.wait(timeout: .seconds(10)) == 0)
        let status = shell.stderr.split(separator: "\n").last { $0.hasPrefix("status=") } ?? ""
        let other = shell.stderr.split(separator: "\n").filter { !$0.hasPrefix("status=") }
        return (shell.lines.first, String(status.dropFirst("status=".count)), other.joined(separator: "\n"))
    }

    @Test("watch | head -1 ends with 141 even when nothing changes")
    func quietWatch() async throws {
        try await withHome { env in
            let result = try await pipeline("watch web", env)
            #expect(result.line?.hasSuffix("0 instances") == true)
            #expect(result.status == "141")
            #expect(result.stderr.isEmpty)
        }
    }

    @Test("register | head -1 ends with 141 and deregisters")
    func register() async throws {
        try await withHome { env in
            let result = try await pipeline("register web 127.0.0.1:8081 --id pipe-1", env)
            #expect(result.line == "pipe-1")
            #expect(result.status == "141")
            #expect(result.stderr.isEmpty)
            #expect(try await runSDCTL(["resolve", "web"], environment: env).status == 3)
        }
    }

    @Test("output to a file or terminal is not watched: resolve still exits 0")
    func notAPipe() async throws {
        try await withHome { env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:8082"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let file = TemporaryDirectory("sdctl-pipe-out")
            defer { file.remove() }
            let shell = try RunningProcess(
                "/bin/bash", ["-c", "sdctl resolve web > \(file.path)/out"], environment: env)
            #expect(try await shell.wait() == 0)
            #expect(try String(contentsOfFile: file.path + "/out", encoding: .utf8) == "127.0.0.1:8082\n")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }
}
