import Discovery
import Testing

@Suite("Shared helpers")
struct HelperTests {
    @Test(
        "whitespace trimming",
        arguments: [("  10.0.0.1:80\n", "10.0.0.1:80"), ("\t\n ", ""), ("a b", "a b"), ("", "")])
    func trimming(text: String, expected: String) {
        #expect(text.trimmingWhitespace() == expected)
        #expect(text[...].trimmingWhitespace() == expected)
    }

    @Test("duration units")
    func durationUnits() {
        #expect(Duration.milliseconds(1500).wholeNanoseconds == 1_500_000_000)
        #expect(Duration.microseconds(2500).wholeMilliseconds == 2)
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
    }
}

@Suite("DiscoveryError")
struct DiscoveryErrorTests {
    struct Underlying: Error, Equatable { let code: Int }

    @Test("carries its cause; equality and hashing ignore it")
    func cause() {
        let first = DiscoveryError(.unavailable, "down", cause: Underlying(code: 1))
        let second = DiscoveryError(.unavailable, "down", cause: Underlying(code: 2))
        #expect((first.cause as? Underlying) == Underlying(code: 1))
        #expect(first == second)
        #expect(Set([first, second]).count == 1)
        #expect(DiscoveryError(.unavailable, "down") != DiscoveryError(.io, "down"))
    }
}
