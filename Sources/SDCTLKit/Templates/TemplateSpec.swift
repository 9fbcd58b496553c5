import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One `--template SRC:DEST[:CMD]`: the parsed template, where it renders to, and what runs
/// after DEST changed.
struct TemplateSpec: Sendable {
    /// SRC as given, for errors (`up.tmpl:3:7: ...`).
    let source: String
    let template: MustacheTemplate
    let destination: RenderedFile
    /// Run with `/bin/sh -c` after DEST was written.
    let command: String?

    /// Parses `SRC:DEST[:CMD]` (paths without `:`; CMD may hold any) and the template at SRC.
    /// Every failure is a usage error (exit 2): a template error names `SRC:LINE:COLUMN`.
    init(argument: String) throws(CLIError) {
        let parts = argument.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CLIError.usage(
                "--template takes SRC:DEST[:CMD], not '\(argument.terminalSafe)'", command: "sdctl watch")
        }
        source = String(parts[0])
        destination = RenderedFile(path: String(parts[1]))
        let command = parts.count == 3 ? String(parts[2]) : nil
        if let command, command.allSatisfy(\.isWhitespace) {
            throw CLIError.usage("--template \(source):\(parts[1]): an empty CMD", command: "sdctl watch")
        }
        self.command = command
        let bytes: [UInt8]
        do {
            bytes = try TextFile.contents(of: source, limit: MustacheTemplate.maximumSourceBytes)
        } catch let error as TextFile.Unreadable {
            throw CLIError(
                .usage, "--template \(source.terminalSafe): \(String(cString: strerror(error.errno)))")
        } catch {
            throw CLIError(
                .usage, "--template \(source.terminalSafe): over \(MustacheTemplate.maximumSourceBytes) bytes"
            )
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIError(.usage, "--template \(source.terminalSafe): not UTF-8 text")
        }
        do {
            template = try MustacheTemplate(parsing: text)
        } catch {
            throw CLIError(.usage, error.located(in: source).terminalSafe)
        }
    }
}
