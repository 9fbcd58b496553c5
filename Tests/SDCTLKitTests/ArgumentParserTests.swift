import Testing

@testable import SDCTLKit

@Suite("Argument parser")
struct ArgumentParserTests {
    let parser = ArgumentParser()

    @Test("global options before or after the command")
    func globalsAnywhere() throws {
        let before = try parser.parse(["-o", "json", "--timeout", "5s", "resolve", "web"])
        let after = try parser.parse(["resolve", "web", "-ojson", "--timeout=5s"])
        for invocation in [before, after] {
            #expect(invocation.path == ["resolve"])
            #expect(invocation.positionals == ["web"])
            #expect(invocation.value("output") == "json")
            #expect(invocation.value("timeout") == "5s")
        }
    }

    @Test("repeatable options collect every value")
    func repeatable() throws {
        let invocation = try parser.parse([
            "register", "web", "127.0.0.1:80", "--tag", "a", "--tag=b", "--meta", "k=v",
        ])
        #expect(invocation.values("tag") == ["a", "b"])
        #expect(invocation.values("meta") == ["k=v"])
    }

    @Test("-- hands the rest to register as the command to run, options included")
    func trailingCommand() throws {
        let invocation = try parser.parse(["register", "web", "h:1", "--", "server", "--port", "80", "-v"])
        #expect(invocation.trailing == ["server", "--port", "80", "-v"])
        #expect(!invocation.has("verbose"))
    }

    @Test("nested subcommands")
    func nested() throws {
        #expect(try parser.parse(["bench", "balancer", "--threads", "4"]).path == ["bench", "balancer"])
        #expect(try parser.parse(["bench", "propagation", "web", "--rounds", "5"]).positionals == ["web"])
    }

    @Test("help and version short-circuit validation")
    func helpAndVersion() throws {
        #expect(try parser.parse(["resolve", "--help"]).has("help"))
        #expect(try parser.parse(["bench", "-h"]).path == ["bench"])
        #expect(try parser.parse(["--version"]).has("version"))
    }

    @Test(
        "malformed command lines are usage errors",
        arguments: [
            ["resolve"], ["deregister", "a", "b", "c"], ["nope"], ["resolve", "web", "--bogus"],
            ["resolve", "web", "-x"],
            ["resolve", "web", "--wait-for"], ["bench"], ["bench", "nope"], ["--timeout"],
            ["watch", "web", "--count", "--timeout", "1s"],
            ["register", "web"], ["register", "web", "h:1", "--"], ["deregister", "web"],
            ["resolve", "web", "-o", "json", "-o", "text"],
            ["resolve", "web", "--no-color=yes"], ["resolve", "web", "--wait-for="],
        ])
    func malformed(arguments: [String]) {
        #expect(throws: CLIError.self) { try parser.parse(arguments) }
        do {
            _ = try parser.parse(arguments)
        } catch {
            #expect(error.exitCode == .usage)
            #expect(!error.message.contains("\n"))
            #expect(error.message.contains("--help"))
        }
    }
}

@Suite("Durations")
struct DurationTests {
    @Test(
        "valid durations",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("10s", .seconds(10)), ("5m", .seconds(300)),
            ("1h", .seconds(3600)),
            ("1m30s", .seconds(90)), ("1.5s", .milliseconds(1500)), ("100us", .microseconds(100)),
        ])
    func valid(text: String, expected: Duration) {
        #expect(DurationParser.parse(text) == expected)
    }

    @Test(
        "invalid durations",
        arguments: ["", "10", "s", "10x", "-1s", "1.s", ".5s", "1..5s", "10 s", "1e3s", "5sm"])
    func invalid(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }
}
