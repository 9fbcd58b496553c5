import Foundation

/// A real terminal for a test: a detached tmux session on a server of its own (its own socket,
/// so the tester's tmux is never touched), running one shell command. The screen is read with
/// capture-pane, keys are typed with send-keys, and the server is killed when the body ends.
public struct TmuxSession: Sendable {
    public let socket: String

    /// Runs `command` (through the shell) in a `width` x `height` terminal for `body`.
    public static func with(
        width: Int = 100, height: Int = 20, command: String, _ body: (TmuxSession) async throws -> Void
    ) async throws {
        let session = TmuxSession(socket: "sdctl-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        // Started with spawnProcess, not through pipes: the tmux server it forks would hold them
        // open for as long as it runs.
        let status = waitForExit(
            spawnProcess(
                "/usr/bin/tmux",
                ["-L", session.socket, "new-session", "-d", "-x", "\(width)", "-y", "\(height)", command]))
        guard status == 0 else { throw ServerProcesses.Unavailable("tmux new-session exited \(status)") }
        defer {
            _ = waitForExit(spawnProcess("/usr/bin/tmux", ["-L", session.socket, "kill-server"]))
            // kill-server does not always take the socket file with it.
            let directory = ProcessEnvironment.value("TMUX_TMPDIR") ?? "/tmp"
            unlink("\(directory)/tmux-\(getuid())/\(session.socket)")
        }
        try await body(session)
    }

    /// The screen's lines; with `escapes`, with the colour escape sequences too.
    public func screen(escapes: Bool = false) async throws -> [String] {
        try await tmux(["capture-pane", "-p"] + (escapes ? ["-e"] : [])).lines
    }

    /// Waits until some line of the screen satisfies `predicate`; returns the screen.
    @discardableResult
    public func waitForScreen(
        within timeout: Duration = .seconds(10), _ what: String, escapes: Bool = false,
        where predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = try await screen(escapes: escapes)
            if lines.contains(where: predicate) { return lines }
            guard ContinuousClock.now < deadline else {
                throw DeadlineExceeded(what: "\(what); the screen was:\n\(lines.joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Types `keys` as tmux names them (`q`, `C-c`).
    public func sendKeys(_ keys: String...) async throws {
        _ = try await tmux(["send-keys"] + keys)
    }

    /// Runs a tmux client command that does not start a server.
    func tmux(_ arguments: [String]) async throws -> (status: Int32, lines: [String]) {
        let process = try RunningProcess("/usr/bin/tmux", ["-L", socket] + arguments, environment: [:])
        let status = try await process.wait(timeout: .seconds(10))
        return (status, process.lines)
    }
}
