import Logging
import Synchronization

/// A log handler that keeps every message, so a test can assert that something was logged.
public struct RecordingLogHandler: LogHandler {
    /// The messages logged through every logger made with this recorder's ``logger(label:)``.
    public final class Messages: Sendable {
        private let lines = Mutex<[String]>([])
        public init() {}
        public var all: [String] { lines.withLock { $0 } }
        /// The `sd.delay` field of every message containing `text`, in seconds.
        public func delays(of text: String) -> [Double] {
            let key = "sd.delay="
            return all.filter { $0.contains(text) }.compactMap { line in
                guard let field = line.split(separator: " ").first(where: { $0.hasPrefix(key) }) else {
                    return nil
                }
                return Double(field.dropFirst(key.count))
            }
        }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    let messages: Messages

    /// A logger at trace level that records into `messages`.
    public static func logger(_ messages: Messages, label: String = "test") -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(messages: messages) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        let merged = self.metadata.merging(metadata ?? [:]) { _, new in new }
        let fields = merged.keys.sorted().map { " \($0)=\(merged[$0]!)" }.joined()
        messages.append("\(level) \(message)\(fields)")
    }
}
