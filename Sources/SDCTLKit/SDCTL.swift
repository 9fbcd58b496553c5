import Discovery
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The `sdctl` command-line tool: parses the command line and runs a command.
public enum SDCTL {
    public static let version = "0.1.0"

    /// Whether a command line names a target of a backend on swift-nio's event loops, which
    /// `main` then makes Swift Concurrency's executor before the first task.
    public static func needsEventLoops(arguments: [String]) -> Bool {
        BackendDescription.needsEventLoops(arguments: arguments)
    }

    /// What needs neither the environment nor Swift Concurrency: `--version`, help, and a
    /// command line that does not parse. Returns the exit code after writing the answer, or
    /// nil for a command to run with ``main(arguments:environment:)``. `main` calls it first,
    /// before it builds the environment or starts a task, so that these cost what parsing costs
    /// (docs/benchmarks.md, "Process start").
    public static func immediate(arguments: [String]) -> Int32? {
        let parser = ArgumentParser()
        let stderrOutput = Output(format: .text, color: false)
        let invocation: Invocation
        do throws(CLIError) {
            invocation = try parser.parse(arguments)
        } catch {
            stderrOutput.note(error.message)
            return error.exitCode.rawValue
        }
        if invocation.has("version") {
            stderrOutput.line("sdctl \(version)")
            return ExitCode.success.rawValue
        }
        if invocation.has("help") || invocation.path.isEmpty {
            let spec = parser.spec(for: invocation.path) ?? parser.root
            writeHelp(spec, path: invocation.path, parser: parser)
            return invocation.path.isEmpty && !invocation.has("help") ? ExitCode.usage.rawValue : 0
        }
        return nil
    }

    /// Runs `sdctl` with `arguments` (without the program name) and returns the exit code.
    /// `globalExecutor`, what runs Swift Concurrency's jobs as the caller set it up, is logged
    /// with `-v`.
    public static func main(
        arguments: [String], environment: [String: String], globalExecutor: String? = nil
    ) async -> Int32 {
        if let code = immediate(arguments: arguments) { return code }
        let parser = ArgumentParser()
        let stderrOutput = Output(format: .text, color: false)
        var verbose = false
        do throws(CLIError) {
            let invocation = try parser.parse(arguments)
            verbose = invocation.has("verbose")
            let context = try makeContext(invocation, environment: environment)
            if let globalExecutor {
                context.logger.debug("global executor", metadata: ["sd.executor": "\(globalExecutor)"])
            }
            return try await runUntilOutputClosed(context, parser: parser).rawValue
        } catch {
            stderrOutput.note(error.message)
            if verbose {
                for line in error.causeLines { stderrOutput.note("  caused by \(line)") }
            }
            return error.exitCode.rawValue
        }
    }

    static func makeContext(_ invocation: Invocation, environment: [String: String]) throws(CLIError)
        -> CommandContext
    {
        let format: OutputFormat
        switch invocation.value("output") {
        case nil, "text": format = .text
        case "json": format = .json
        case let other?:
            throw .usage("-o takes text or json, not '\(other)'", command: invocation.commandName)
        }
        let color =
            format == .text && isatty(1) == 1 && !invocation.has("no-color")
            && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
        let threshold: Logger.Level = invocation.has("verbose") ? .debug : .error
        let shownEvents = ShownEvents()
        let logger = Logger(label: "sdctl") { _ in CLILogHandler(threshold: threshold, shown: shownEvents) }
        var context = CommandContext(
            invocation: invocation, environment: environment, output: Output(format: format, color: color),
            timeout: nil, logger: logger, shownEvents: shownEvents)
        context.timeout = try context.duration("timeout")
        if let text = environment["SDCTL_MAX_INSTANCES"], !text.isEmpty {
            guard let limit = Int(text), limit > 0 else {
                throw .usage(
                    "SDCTL_MAX_INSTANCES must be a whole number of instances above 0, not '\(text.terminalSafe)'",
                    command: invocation.commandName)
            }
            context.maximumInstances = limit
        }
        // A wrapped command (`register -- CMD`) shares stdout with its child, which hears about a
        // closed pipe itself; everything else ends when nobody reads its output. Made last: its
        // thread is stopped only by a run that starts.
        if invocation.trailing == nil { context.output.reader = StandardOutputReader() }
        return context
    }

    /// Runs the command; if its stdout reader goes away first, cancels it, lets it release what
    /// it holds (a watch, a registration), and ends with ``ExitCode/outputClosed``.
    static func runUntilOutputClosed(_ context: CommandContext, parser: ArgumentParser) async throws(CLIError)
        -> ExitCode
    {
        guard let reader = context.output.reader else { return try await run(context, parser: parser) }
        defer { reader.stopWatching() }
        enum Outcome: Sendable {
            case finished(Result<ExitCode, CLIError>)
            case readerGone
            case waitEnded
        }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do throws(CLIError) {
                    return .finished(.success(try await run(context, parser: parser)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask { await reader.gone() ? .readerGone : .waitEnded }
            let first = await group.next()!
            group.cancelAll()
            if case .readerGone = first {
                // The command cleans up on cancellation; wait for it, whatever it says.
                while await group.next() != nil {}
            }
            return first
        }
        guard case .finished(let result) = outcome, !reader.isGone else { return .outputClosed }
        return try result.get()
    }

    static func run(_ context: CommandContext, parser: ArgumentParser) async throws(CLIError) -> ExitCode {
        guard let command = command(at: context.invocation.path) else {
            throw context.usage("unknown command")
        }
        return try await command.run(context)
    }

    static func writeHelp(_ spec: CommandSpec, path: [String], parser: ArgumentParser) {
        Output(format: .text, color: false).line(
            HelpRenderer.render(spec, path: path, root: parser.root), terminator: "")
    }
}
