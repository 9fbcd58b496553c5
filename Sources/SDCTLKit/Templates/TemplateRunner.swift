import Discovery
import FileDiscovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `watch --template SRC:DEST[:CMD]`: at each change, renders every template, writes each
/// DEST whose content changed (``RenderedFile``), then runs its CMD with `/bin/sh -c`.
///
/// One worker does it all, so no two CMDs ever run at once, and changes that come meanwhile
/// are coalesced into one more round with the newest sets. A CMD that fails is reported and
/// runs again at the next change even if its DEST did not change then; a render or write that
/// fails is reported and tried again at the next change. Nothing here ends the watch.
final class TemplateRunner: Sendable {
    private let pending: AsyncStream<WatchHandler.Snapshot>.Continuation
    private let worker: Task<Void, Never>

    /// `quiet` sends the commands' output to /dev/null (the live view owns the terminal);
    /// `report` hears a line for each failure and, unless quiet, each DEST written.
    init(_ specs: [TemplateSpec], quiet: Bool, report: @escaping @Sendable (String) -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: WatchHandler.Snapshot.self, bufferingPolicy: .bufferingNewest(1))
        pending = continuation
        worker = Task {
            var failures = Failures()
            for await snapshot in stream {
                _ = await Self.round(specs, snapshot, failures: &failures, quiet: quiet, report: report)
            }
        }
    }

    /// The templates whose last write or CMD failed: tried again at the next round whatever
    /// the sets.
    struct Failures: Sendable {
        var commands = Set<Int>()
    }

    /// Renders every template with `snapshot`, writes each DEST that changed and runs its CMD;
    /// returns whether all of it worked (each failure was reported).
    static func round(
        _ specs: [TemplateSpec], _ snapshot: WatchHandler.Snapshot, failures: inout Failures, quiet: Bool,
        report: @Sendable (String) -> Void
    ) async -> Bool {
        let context = TemplateContext.make(snapshot.groups, time: Timestamp.now())
        var succeeded = true
        for (index, spec) in specs.enumerated() {
            let wrote: Bool
            do {
                let text = try spec.template.render(context)
                wrote = try spec.destination.replace(with: Array(text.utf8))
            } catch let error as TemplateError {
                report("--template \(error.located(in: spec.source))")
                succeeded = false
                continue
            } catch {
                report("--template \(spec.source): cannot write \(error)")
                succeeded = false
                continue
            }
            guard let command = spec.command, wrote || failures.commands.contains(index) else { continue }
            if let failure = await run(command, quiet: quiet) {
                report("--template \(spec.source): '\(command)' \(failure); it runs again at the next change")
                failures.commands.insert(index)
                succeeded = false
            } else {
                failures.commands.remove(index)
            }
        }
        return succeeded
    }

    /// Asks for a round with `snapshot`; returns at once.
    func changed(_ snapshot: WatchHandler.Snapshot) {
        pending.yield(snapshot)
    }

    /// Lets the round in progress, and the one waiting, finish.
    func finish() async {
        pending.finish()
        await worker.value
    }

    /// Runs `command`; nil when it exited 0, else how it failed.
    static func run(_ command: String, quiet: Bool) async -> String? {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { if null >= 0 { close(null) } }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                ["/bin/sh", "-c", command], stdin: null >= 0 ? null : nil,
                stdout: quiet && null >= 0 ? null : nil, stderr: quiet && null >= 0 ? null : nil)
        } catch {
            return error.message
        }
        switch await child.wait() {
        case .exited(0): return nil
        case .exited(let code): return "exited \(code)"
        case .signaled(let number): return "was killed by signal \(number)"
        }
    }
}
