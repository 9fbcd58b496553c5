/// Text from a server or a registrant made safe for a terminal.
///
/// A tag, an address, a server's error message or reason phrase can hold escape sequences
/// that a terminal would act on (colours, cursor moves, OSC 52 writing the clipboard, a title
/// change) or line breaks that forge a second stderr line. Before such text is printed as text
/// (not JSON, which escapes it already), every control character is shown as a visible escape
/// instead: C0 and DEL as `\xHH`, C1 as `\u{HH}`, and the bidirectional overrides that can
/// reorder what the reader sees as `\u{HHHH}`. Text longer than a limit is cut, saying how much
/// was left out.
///
/// ``DiscoveryError`` applies the escapes to every message it is given, so an error's message is
/// one line whatever a server put in it; sdctl applies them (and the limit) to everything it
/// prints as text.
package enum TerminalText {
    /// The longest text kept of one diagnostic line, in characters.
    package static let lineLimit = 1000

    /// `text` with its control characters shown as escapes, cut to `limit` characters.
    package static func sanitized(_ text: some StringProtocol, limit: Int = lineLimit) -> String {
        if !needsWork(text, limit: limit) { return String(text) }
        var result = ""
        var kept = 0
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if kept >= limit {
                var rest = 1
                while scalars.next() != nil { rest += 1 }
                result += "… (\(rest) more characters)"
                break
            }
            kept += 1
            switch scalar.value {
            case 0x00...0x1F, 0x7F:
                result += "\\x" + hex(scalar.value, digits: 2)
            case 0x80...0x9F:
                result += "\\u{" + hex(scalar.value, digits: 2) + "}"
            case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                result += "\\u{" + hex(scalar.value, digits: 4) + "}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether `text` has anything to replace or is over `limit`: the common case copies nothing.
    private static func needsWork(_ text: some StringProtocol, limit: Int) -> Bool {
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            if count > limit { return true }
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
            default: continue
            }
        }
        return false
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension StringProtocol {
    /// This text with its control characters shown as escapes (``TerminalText``).
    package var terminalSafe: String { TerminalText.sanitized(self) }
}
