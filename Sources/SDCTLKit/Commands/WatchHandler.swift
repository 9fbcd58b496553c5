import Discovery
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `watch --exec CMD`: runs CMD (through `/bin/sh -c`) after every change, never two at once.
///
/// Changes that come while CMD runs are coalesced: when it ends, it runs once more with the
/// newest set. Each run gets the set as JSON on stdin (what `resolve -o json` prints) and the
/// counts in SDCTL_INSTANCES, SDCTL_ADDED, SDCTL_REMOVED and SDCTL_CHANGED (against the set of
/// the run before), with SDCTL_TARGET and SDCTL_RUN. A run that fails is reported and the next change
/// runs it again; it never ends the watch.
final class WatchHandler: Sendable {
    /// The sets of every target, in the order the targets were given.
    struct Snapshot: Sendable {
        var groups: [(label: String, set: [Instance])]
    }

    /// How a run ended, for the live view's header.
    struct Outcome: Sendable {
        var run: Int
        var termination: ChildProcess.Termination?
        var failure: String?
    }

    private let pending: AsyncStream<Snapshot>.Continuation
    private let worker: Task<Void, Never>

    /// `quiet` sends the handler's stdout and stderr to /dev/null (the live view owns the
    /// terminal); `report` hears how each run ended.
    init(command: String, quiet: Bool, report: @escaping @Sendable (Outcome) -> Void) {
        // Only the newest change waits: the ones before it are coalesced into it.
        let (stream, continuation) = AsyncStream.makeStream(
            of: Snapshot.self, bufferingPolicy: .bufferingNewest(1))
        pending = continuation
        worker = Task {
            var previous: Snapshot?
            var run = 0
            for await snapshot in stream {
                run += 1
                let ended = await Self.run(command, snapshot, previous: previous, run: run, quiet: quiet)
                report(ended)
                previous = snapshot
            }
        }
    }

    /// Asks for a run with `snapshot`; returns at once.
    func changed(_ snapshot: Snapshot) {
        pending.yield(snapshot)
    }

    /// Lets the run in progress, and the one waiting, finish.
    func finish() async {
        pending.finish()
        await worker.value
    }

    static func run(_ command: String, _ snapshot: Snapshot, previous: Snapshot?, run: Int, quiet: Bool) async
        -> Outcome
    {
        var added = 0
        var removed = 0
        var changed = 0
        for (index, group) in snapshot.groups.enumerated() {
            let difference = WatchCommand.difference(group.set, previous: previous?.groups[index].set ?? [])
            added += difference.added.count
            removed += difference.removed.count
            changed += difference.changed.count
        }
        let environment = [
            "SDCTL_TARGET": snapshot.groups.map(\.label).joined(separator: " "),
            "SDCTL_INSTANCES": String(snapshot.groups.reduce(0) { $0 + $1.set.count }),
            "SDCTL_ADDED": String(added), "SDCTL_REMOVED": String(removed), "SDCTL_CHANGED": String(changed),
            "SDCTL_RUN": String(run),
        ]
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            return Outcome(run: run, failure: "cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        // Only the copy dup'ed onto the handler's stdin may reach it (Glibc's module has no pipe2).
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let null = quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1
        defer { if null >= 0 { close(null) } }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                ["/bin/sh", "-c", command], stdin: pipeEnds[0], stdout: null >= 0 ? null : nil,
                stderr: null >= 0 ? null : nil, environment: environment)
        } catch {
            close(pipeEnds[0])
            close(pipeEnds[1])
            return Outcome(run: run, failure: error.message)
        }
        close(pipeEnds[0])
        let json = Array(json(snapshot).rendered.utf8) + [0x0A]
        let writer = pipeEnds[1]
        // Written from a thread of its own: a handler that reads slowly (or never) must not
        // hold a thread of the concurrency pool, and one that exits unread ends it with EPIPE.
        DispatchQueue.global().async {
            var offset = 0
            while offset < json.count {
                let written = json[offset...].withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
                if written < 0, errno == EINTR { continue }
                if written <= 0 { break }
                offset += written
            }
            close(writer)
        }
        return Outcome(run: run, termination: await child.wait())
    }

    /// The set as `resolve -o json` prints it: an array of instances for one target, an array
    /// of `{"target", "instances"}` for several.
    static func json(_ snapshot: Snapshot) -> JSONValue {
        if snapshot.groups.count == 1 { return .array(snapshot.groups[0].set.map(JSONValue.init)) }
        return .array(
            snapshot.groups.map {
                .object([("target", .string($0.label)), ("instances", .array($0.set.map(JSONValue.init)))])
            })
    }
}

extension WatchHandler.Outcome {
    /// `run 3: exit 0`, for the live view and messages.
    var summary: String {
        if let failure { return "run \(run): \(failure)" }
        switch termination {
        case .exited(let code)?: return "run \(run): exit \(code)"
        case .signaled(let number)?: return "run \(run): killed by signal \(number)"
        case nil: return "run \(run)"
        }
    }

    var failed: Bool { failure != nil || termination != .exited(0) }
}
