import Foundation
import Synchronization

/// Runs the built `sdctl` binary (or any program) as a separate process, for end-to-end tests.
public final class RunningProcess: Sendable {
    private let process: Process
    private let stdoutLines = Mutex<[String]>([])
    private let stderrText = Mutex<String>("")
    /// How many of the two pipes have reached their end.
    private let drained = Atomic<Int>(0)
    /// The write end of stdin, when the process was given one (`writableStdin`).
    private let input: FileHandle?

    /// The directory holding the test binary; `sdctl` is built next to it.
    public static let binDirectory: String = {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }()

    public static var sdctl: String { binDirectory + "/sdctl" }

    public init(
        _ executable: String = RunningProcess.sdctl, _ arguments: [String], environment: [String: String],
        writableStdin: Bool = false
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["PATH"] = Self.binDirectory + ":" + (merged["PATH"] ?? "/usr/bin:/bin")
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if writableStdin {
            let pipe = Pipe()
            process.standardInput = pipe
            input = pipe.fileHandleForWriting
        } else {
            process.standardInput = FileHandle.nullDevice
            input = nil
        }
        try process.run()
        Self.pump(
            out.fileHandleForReading,
            lines: { [self] text in
                self.stdoutLines.withLock {
                    $0 += text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(
                        String.init)
                }
            },
            done: { [self] in self.drained.add(1, ordering: .releasing) })
        Self.pump(
            err.fileHandleForReading, lines: { [self] text in self.stderrText.withLock { $0 += text } },
            done: { [self] in self.drained.add(1, ordering: .releasing) })
    }

    /// Reads a pipe to its end on a background thread, passing whole lines on, then calls `done`.
    private static func pump(
        _ handle: FileHandle, lines sink: @escaping @Sendable (String) -> Void,
        done: @escaping @Sendable () -> Void
    ) {
        Thread.detachNewThread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                if let last = pending.lastIndex(of: 0x0A) {
                    sink(String(decoding: pending[...last], as: UTF8.self))
                    pending = Data(pending[(last + 1)...])
                }
            }
            if !pending.isEmpty { sink(String(decoding: pending, as: UTF8.self) + "\n") }
            done()
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var lines: [String] { stdoutLines.withLock { $0 } }
    public var stderr: String { stderrText.withLock { $0 } }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Writes `line` and a newline to stdin (given `writableStdin`).
    public func send(_ line: String) throws {
        try input?.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Closes stdin (given `writableStdin`): the end of input.
    public func closeStdin() throws {
        try input?.close()
    }

    /// Waits for the process to end, killing it after `timeout`; returns the shell-style status.
    /// The default is a net for a hang, not a bound on speed: CI once saw `sdctl help nope`
    /// take over 20 s to be seen ending, with every suite running on two cores.
    @discardableResult
    public func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let process = self.process
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw DeadlineExceeded(what: "\(process.arguments ?? []) to exit")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        process.waitUntilExit()
        // Everything it wrote is in once both pipes are at their end (a child it left running
        // may hold them open: then what arrived within a second is what there is).
        try? await eventually(.seconds(1), "the output pipes to close") { [self] in
            self.drained.load(ordering: .acquiring) == 2
        }
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Waits until a line of stdout satisfies `predicate`.
    @discardableResult
    public func line(
        within timeout: Duration = .seconds(10), where predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        try await eventually(timeout, "a matching line from \(process.arguments ?? [])") { [self] in
            self.stdoutLines.withLock { $0.contains(where: predicate) }
        }
        return lines.first(where: predicate)!
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Runs a command to completion and returns its status, stdout lines and stderr.
public func runSDCTL(
    _ arguments: [String], environment: [String: String], timeout: Duration = .seconds(60)
) async throws -> (status: Int32, lines: [String], stderr: String) {
    let process = try RunningProcess(RunningProcess.sdctl, arguments, environment: environment)
    let status = try await process.wait(timeout: timeout)
    return (status, process.lines, process.stderr)
}
