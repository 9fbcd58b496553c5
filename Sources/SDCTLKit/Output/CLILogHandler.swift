import Discovery
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// sdctl's log output on stderr: everything at `logLevel` and above (`-v` lowers it to debug),
/// and, whatever the level, the events a person running sdctl must see without `-v` (a
/// registration that vanished and was put back), each as one `sdctl: ` line.
struct CLILogHandler: LogHandler {
    /// What is shown whatever its marker.
    let threshold: Logger.Level
    /// The logger's gate: low enough to let the always-shown events (logged at notice) in.
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    /// Told of every always-shown event it prints.
    let shown: ShownEvents?

    init(threshold: Logger.Level, shown: ShownEvents? = nil) {
        self.threshold = threshold
        self.logLevel = min(threshold, .notice)
        self.shown = shown
    }

    /// The events shown without `-v`.
    static let alwaysShown: Set<String> = [
        DiscoveryLogEvent.registrationRestored.rawValue, DiscoveryLogEvent.noInstances.rawValue,
        DiscoveryLogEvent.registrationRenamed.rawValue,
    ]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata on a logger whose records must not show events without `-v` (a benchmark's
    /// watcher, whose expected churn would fill the terminal); never printed.
    static let hidesEventsKey = "sdctl.hides-events"

    func log(event: LogEvent) {
        var fields = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let marker = fields.removeValue(forKey: DiscoveryLogEvent.key).map { "\($0)" }
        let showsEvents = fields.removeValue(forKey: Self.hidesEventsKey) == nil
        guard event.level >= threshold || (showsEvents && marker.map(Self.alwaysShown.contains) == true)
        else {
            return
        }
        // The toolkit's backend marker reads as the message's prefix, and its keys without their
        // namespace: `etcd: watch failed (error=...)`, as a user reads it.
        let backend = fields.removeValue(forKey: DiscoveryLogging.backendKey).map { "\($0): " } ?? ""
        let rendered = fields.keys.sorted().map { key in
            "\(key.hasPrefix("sd.") ? String(key.dropFirst(3)) : key)=\(fields[key]!)"
        }.joined(separator: " ")
        let prefix = (event.level >= threshold && threshold <= .debug ? "\(event.level): " : "") + backend
        if let marker, Self.alwaysShown.contains(marker) { shown?.insert(marker) }
        // One line whatever the message and metadata quote of a server (TerminalText).
        let text = "\(prefix)\(event.message)\(rendered.isEmpty ? "" : " (\(rendered))")"
        var line = "sdctl: \(Redaction.redactingURLs(in: text).terminalSafe)\n"
        line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}
