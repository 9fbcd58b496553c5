/// Parses durations written as a number and a unit, optionally several: `250ms`, `10s`, `5m`,
/// `1h`, `1m30s`, `1.5s`.
enum DurationParser {
    static func parse(_ text: String) -> Duration? {
        guard !text.isEmpty else { return nil }
        var total: Duration = .zero
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number.first != ".",
                number.last != ".", let value = Double(number)
            else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Duration
            switch unit {
            case "ns": scale = .nanoseconds(1)
            case "us", "µs": scale = .microseconds(1)
            case "ms": scale = .milliseconds(1)
            case "s": scale = .seconds(1)
            case "m": scale = .seconds(60)
            case "h": scale = .seconds(3600)
            default: return nil
            }
            guard value <= 1e9 else { return nil }
            total += scale * value
        }
        return total
    }

    /// `1.5s`, `250ms`, `2m`: for messages.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 60_000 == 0, milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }

    /// Milliseconds as a number, to the microsecond: for JSON.
    static func millisecondValue(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        return Double(microseconds) / 1000
    }

    /// `0.42 ms`, `12.3 ms`, `1204 ms`: a latency for people, to three significant digits
    /// below 100 ms.
    static func milliseconds(_ duration: Duration) -> String {
        let value = millisecondValue(duration)
        if value >= 100 { return "\(Int(value.rounded())) ms" }
        if value >= 10 { return "\((value * 10).rounded() / 10) ms" }
        return "\(String(format2: value)) ms"
    }
}
