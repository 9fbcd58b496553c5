import Discovery
import Testing

@testable import SDCTLKit

/// A backend's error keeps its cause through the CLI, for `-v`.
@Suite("CLIError")
struct CLIErrorTests {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "connect(2): Connection refused" }
    }

    @Test("a toolkit error keeps its cause; -v's lines walk the chain and skip repeats")
    func keepsCause() {
        let inner = DiscoveryError(.io, "zookeeper: connection loss", cause: Refused())
        let outer = DiscoveryError(.unavailable, "cannot register 10.0.0.1:80", cause: inner)
        let error = CLIError(outer)
        #expect(error.exitCode == .unavailable)
        #expect((error.cause as? DiscoveryError) == outer)
        #expect(
            error.causeLines == [
                "DiscoveryError: zookeeper: connection loss", "Refused: connect(2): Connection refused",
            ])
        let repeated = CLIError(
            DiscoveryError(.unavailable, "zookeeper: lost", cause: DiscoveryError(.io, "lost")))
        #expect(repeated.causeLines == [], "a cause that says what the message says is not printed again")
        #expect(CLIError(.usage, "bad flag").causeLines == [])
    }
}
