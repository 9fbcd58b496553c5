import DiscoveryHTTP

/// The spellings of Go's standard library that Consul's API speaks.
enum GoSyntax {
    /// `strconv.ParseBool`.
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// A duration as `time.ParseDuration` reads it, in whole milliseconds where it has them
    /// (`10s`, `1500ms`, `5m`; at least `1ms`).
    static func duration(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
