import Foundation
import Synchronization

/// The server processes a test started, by name, with their output appended to log files; the
/// shared bookkeeping of ``ZooKeeperServers`` and ``EtcdServers``.
public final class ServerProcesses: Sendable {
    private let running = Mutex<[String: Process]>([:])

    public init() {}

    /// A server package or tool that a test needs is missing: the test fails, never skips.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Starts `executable` under `name`, appending its output to `log`.
    public func launch(_ name: String, _ executable: String, _ arguments: [String], log: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        let handle = FileHandle(forWritingAtPath: log)!
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        running.withLock { $0[name] = process }
    }

    public var names: Set<String> { running.withLock { Set($0.keys) } }

    /// Runs a tool to completion; returns its exit status and its stdout and stderr together.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Stops one server abruptly (SIGKILL: as a crash would).
    public func kill(_ name: String) {
        guard let process = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends `signal` to one server (SIGSTOP freezes it: its sockets stay open and its peers
    /// hear nothing, as in a partition; SIGCONT lets it go on).
    public func signal(_ name: String, _ signal: Int32) {
        guard let process = running.withLock({ $0[name] }) else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Stops every server. Idempotent.
    public func killAll() {
        for name in names { kill(name) }
    }
}
