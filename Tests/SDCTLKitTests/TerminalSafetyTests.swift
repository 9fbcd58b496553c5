import Discovery
import Testing

@testable import SDCTLKit

/// Issue #23 items 9 and 10: what reaches a terminal from servers and registrants, and what
/// is shown of a target's password.
@Suite("Terminal-safe text and masked passwords")
struct TerminalSafetyTests {
    @Test("control characters become visible escapes; plain text is kept as it is")
    func sanitized() {
        #expect(
            TerminalText.sanitized("10.0.0.1:80 blue zone=a ünïcode ✓") == "10.0.0.1:80 blue zone=a ünïcode ✓"
        )
        #expect(TerminalText.sanitized("\u{1B}[31mred\u{07}") == "\\x1B[31mred\\x07")
        #expect(TerminalText.sanitized("a\nsdctl: forged") == "a\\x0Asdctl: forged")
        #expect(TerminalText.sanitized("\u{1B}]52;c;aGk=\u{07}") == "\\x1B]52;c;aGk=\\x07")
        #expect(TerminalText.sanitized("\u{9B}31m\u{7F}") == "\\u{9B}31m\\x7F")
        #expect(TerminalText.sanitized("abc\u{202E}cba") == "abc\\u{202E}cba")
    }

    @Test("text over the limit is cut, saying how much was left out")
    func cut() {
        let long = String(repeating: "A", count: 10_000)
        let safe = TerminalText.sanitized(long, limit: 100)
        #expect(safe == String(repeating: "A", count: 100) + "… (9900 more characters)")
        #expect(TerminalText.sanitized(long).count < 1100)
    }

    @Test("a URL's password is masked wherever it appears in a line; the user name stays")
    func redaction() {
        #expect(
            Redaction.redactingURLs(in: "invalid target 'etcd://root:hunter2@host:2379/x/': credentials")
                == "invalid target 'etcd://root:xxxxx@host:2379/x/': credentials")
        #expect(
            Redaction.redactingURLs(in: "eureka://bob:p@ss@h/eureka/apps/WEB")
                == "eureka://bob:xxxxx@h/eureka/apps/WEB")
        #expect(
            Redaction.redactingURLs(in: "eureka://bob@h/eureka/apps/WEB") == "eureka://bob@h/eureka/apps/WEB")
        #expect(
            Redaction.redactingURLs(in: "a zk://u:1@h:1/a and consul://v:2@h/b?x=@")
                == "a zk://u:xxxxx@h:1/a and consul://v:xxxxx@h/b?x=@")
        #expect(Redaction.redactingURLs(in: "no urls: a@b c:d") == "no urls: a@b c:d")
    }

    @Test("the live view shows hostile tags, metadata and errors escaped")
    func liveView() {
        var view = LiveWatchView(targets: [("web", "file")])
        let hostile = Instance(
            address: "10.0.0.1:80", tags: ["\u{1B}]52;c;aGk=\u{07}"], metadata: ["k": "\u{1B}[2J\u{9B}"])
        view.apply([hostile], target: 0, now: 100)
        let screen = view.render(width: 200, height: 10, now: 100, paint: { text, _ in text })
        for line in screen {
            #expect(
                !line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                "\(line)")
        }
        #expect(screen.contains { $0.contains("\\x1B]52;c;aGk=\\x07") })
    }
}
