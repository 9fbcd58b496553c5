import TestSupport
import Testing

@testable import SDCTLKit

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Completions and help come from the command table")
struct CompletionTests {
    static let root = Repository.root

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(
        "the committed completion files equal what `sdctl completion` prints",
        arguments: [
            ("bash", "completions/sdctl.bash"), ("zsh", "completions/_sdctl"),
            ("fish", "completions/sdctl.fish"),
        ])
    func committedFilesMatch(shell: String, file: String) throws {
        let generated = CompletionGenerator.script(for: CompletionGenerator.Shell(rawValue: shell)!)
        let committed = try #require(Self.read("\(Self.root)/\(file)"), "\(file) is missing")
        #expect(committed == generated, "regenerate with: swift run sdctl completion \(shell) > \(file)")
    }

    @Test("the committed man page equals what `sdctl manpage` prints")
    func committedManPageMatches() throws {
        let committed = try #require(Self.read("\(Self.root)/docs/sdctl.1"), "docs/sdctl.1 is missing")
        #expect(
            committed == ManPageGenerator.page(), "regenerate with: swift run sdctl manpage > docs/sdctl.1")
    }

    @Test("every option and command of the table appears in completions, help and the man page")
    func everythingCovered() {
        let scripts = CompletionGenerator.Shell.allCases.map { CompletionGenerator.script(for: $0) }
        let page = ManPageGenerator.page()
        for (path, command) in CompletionGenerator.commands(CommandTable.root) {
            let help = HelpRenderer.render(command, path: path, root: CommandTable.root)
            #expect(page.contains(".SS \"sdctl \(path.joined(separator: " "))\"") || path.isEmpty)
            for option in command.options {
                #expect(help.contains("--\(option.long)"))
                #expect(
                    page.contains("\\fB\\-\\-\(ManPageGenerator.escape(option.long))\\fR"), "\(option.long)")
                for script in scripts { #expect(script.contains(option.long), "\(option.long) missing") }
            }
            for sub in command.subcommands {
                #expect(help.contains(sub.name))
                for script in scripts { #expect(script.contains(sub.name)) }
            }
        }
    }

    @Test("roff escaping: hyphens, backslashes and lines that would start with a control character")
    func roffEscaping() {
        #expect(ManPageGenerator.escape("--timeout") == "\\-\\-timeout")
        #expect(ManPageGenerator.escape("a\\b") == "a\\eb")
        #expect(ManPageGenerator.escape(".hidden\n'quoted") == "\\&.hidden\n\\&'quoted")
        #expect(ManPageGenerator.escape("mid.dle") == "mid.dle")
    }
}
