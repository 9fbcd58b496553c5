import Discovery
import Dispatch
import Histogram
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `sdctl bench propagation TARGET [--rounds N] [--separate-watcher]`
///
/// Registers and deregisters one instance N times through the backend's registrar and times
/// how long the watcher takes to see each change. With `--subscribers N`, the one instancer
/// has N subscribers, and a change is seen when the last of them has it.
///
/// On a backend that polls, each change first waits a random part of the poll interval: made
/// right after the watcher saw the previous one, every change would land just after a poll and
/// wait a whole interval, where a change at a random moment waits half of one on average.
enum BenchPropagationCommand: Command {
    static let path = ["bench", "propagation"]
    static var spec: CommandSpec { CommandTable.benchPropagation }

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let rounds = try context.integer("rounds", default: 200)!
        let wait = context.timeout ?? .seconds(10)
        let subscribers = try context.integer("subscribers", default: 1)!
        let separate = context.invocation.has("separate-watcher")
        if separate && subscribers > 1 {
            throw context.usage(
                "--subscribers counts subscribers of this process's instancer, not --separate-watcher")
        }
        let trackers = (0..<subscribers).map { _ in PresenceTracker() }
        let stopWatcher: @Sendable () -> Void
        if separate {
            stopWatcher = try startSeparateWatcher(context.invocation.positionals[0], trackers[0])
        } else {
            // The watcher's expected churn (DNS: "no instances" between rounds) is not news.
            var watching = context
            watching.logger[metadataKey: CLILogHandler.hidesEventsKey] = "true"
            let instancer = try target.backend.makeInstancer(watching)
            let tasks = trackers.map { presence in
                let subscription = instancer.subscribe()
                return Task {
                    for await event in subscription {
                        if let set = event.instances {
                            let seen = monotonicNanoseconds()  // when this subscriber got it
                            presence.update(set, at: seen)
                        }
                    }
                }
            }
            stopWatcher = {
                instancer.stop()
                for task in tasks { task.cancel() }
            }
        }
        defer { stopWatcher() }
        for presence in trackers where !(await presence.waitForFirstSet(timeout: wait)) {
            throw CLIError(.timedOut, "the watcher saw no initial set within \(DurationParser.format(wait))")
        }
        /// When the last subscriber saw `address` come (or go); `nil` if one did not in time.
        func seenByAll(_ address: String, present: Bool) async -> UInt64? {
            var last: UInt64 = 0
            for presence in trackers {
                guard let seen = await presence.wait(for: address, present: present, timeout: wait) else {
                    return nil
                }
                last = max(last, seen)
            }
            return last
        }

        let registrars = try target.backend.changeMaking().makeRegistrars(context)
        defer { registrars.close() }
        var registerLatency = Histogram<UInt64>(
            highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        var deregisterLatency = registerLatency
        var preparationLatency = registerLatency
        let pid = getpid()
        let poll = target.backend.pollInterval
        /// A random point of the poll cycle, for a backend that polls.
        func randomPhase() async {
            guard let poll else { return }
            try? await Task.sleep(for: poll * Double.random(in: 0..<1))
        }
        for round in 0..<rounds {
            let address = "127.0.0.1:\(20000 + (Int(pid) + round) % 40000)"
            let instance = Instance(address: address, id: "bench-\(pid)-\(round)")
            let registrar = try registrars.make(instance)
            if let preparation = registrars.preparation {
                let preparing = monotonicNanoseconds()
                do {
                    try await preparation.run(registrar)
                } catch {
                    throw CLIError(
                        .failure, "round \(round): \(preparation.name) failed: \(error)", cause: error)
                }
                _ = preparationLatency.record((monotonicNanoseconds() - preparing) / 1000)
            }
            let seenAs = registrars.seenAs(registrar)
            for presence in trackers { presence.track(seenAs) }
            defer { for presence in trackers { presence.untrack(seenAs) } }
            await randomPhase()
            let started = monotonicNanoseconds()
            try await RegisterCommand.registerQuietly(registrar)
            guard let seen = await seenByAll(seenAs, present: true) else {
                try? await registrar.deregister()
                throw CLIError(
                    .timedOut, "round \(round): registration not seen within \(DurationParser.format(wait))")
            }
            _ = registerLatency.record((seen - started) / 1000)
            await randomPhase()
            let leaving = monotonicNanoseconds()
            try await RegisterCommand.deregister(registrar, context)
            guard let gone = await seenByAll(seenAs, present: false) else {
                throw CLIError(
                    .timedOut, "round \(round): deregistration not seen within \(DurationParser.format(wait))"
                )
            }
            _ = deregisterLatency.record((gone - leaving) / 1000)
        }
        var rows = [
            Row(name: "register -> seen", key: "register", histogram: registerLatency),
            Row(name: "deregister -> seen", key: "deregister", histogram: deregisterLatency),
        ]
        if let preparation = registrars.preparation {
            rows.insert(
                Row(name: preparation.name, key: preparation.key, histogram: preparationLatency), at: 0)
        }
        report(rows, rounds: rounds, poll: poll, context)
        return .success
    }

    /// Runs `sdctl watch TARGET -o json` and feeds what it prints into `presence`.
    static func startSeparateWatcher(_ target: String, _ presence: PresenceTracker) throws(CLIError)
        -> @Sendable () -> Void
    {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw CLIError(.failure, "cannot create a pipe") }
        let child = try ChildProcess.spawn(
            [selfExecutable(), "watch", target, "-o", "json"], stdout: pipeEnds[1])
        close(pipeEnds[1])
        let readEnd = pipeEnds[0]
        runDetached {
            struct Line: Decodable {
                struct Entry: Decodable { var address: String }
                var instances: [Entry]?
            }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if let decoded = try? JSONDecoder().decode(Line.self, from: Data(line)),
                        let set = decoded.instances
                    {
                        presence.update(set.map { Instance(address: $0.address) }.sorted())
                    }
                }
            }
            close(readEnd)
        }
        return {
            child.signal(SIGTERM)
        }
    }

    static func selfExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// One timed step of the rounds, as reported.
    struct Row {
        let name: String
        let key: String
        let histogram: Histogram<UInt64>
    }

    static func report(_ rows: [Row], rounds: Int, poll: Duration?, _ context: CommandContext) {
        func milliseconds(_ microseconds: UInt64) -> Double { (Double(microseconds) / 10).rounded() / 100 }
        func summary(_ histogram: Histogram<UInt64>) -> [(String, Double)] {
            [
                ("p50_ms", milliseconds(histogram.valueAtPercentile(50))),
                ("p90_ms", milliseconds(histogram.valueAtPercentile(90))),
                ("p99_ms", milliseconds(histogram.valueAtPercentile(99))),
                ("max_ms", milliseconds(histogram.max)),
            ]
        }
        switch context.format {
        case .json:
            func object(_ histogram: Histogram<UInt64>) -> JSONValue {
                .object(
                    summary(histogram).map { ($0.0, .double($0.1)) } + [
                        ("count", .int(Int(histogram.totalCount))), ("distribution", distribution(histogram)),
                    ])
            }
            var fields: [(String, JSONValue)] = rows.map { ($0.key, object($0.histogram)) }
            if let poll {
                let milliseconds =
                    Double(poll.components.seconds) * 1000 + Double(poll.components.attoseconds) / 1e15
                fields.append(("poll_interval_ms", .double(milliseconds)))
            }
            context.output.json(.object(fields))
        case .text:
            context.output.line("\(rounds) rounds            p50 ms    p90 ms    p99 ms    max ms")
            for row in rows {
                let cells = summary(row.histogram).map { String(format2: $0.1).leftPadding(8) }.joined(
                    separator: "  ")
                context.output.line("\(row.name.padding(18))  \(cells)")
            }
            for row in rows {
                context.output.line("")
                context.output.line(row.name)
                for line in bars(row.histogram) { context.output.line(line) }
            }
            if let poll {
                context.output.line(
                    "(the watcher polls every \(DurationParser.format(poll)): each change was made at a random point of that cycle)"
                )
            }
        }
    }
}

/// Runs `body` on a new detached OS thread.
func runDetached(_ body: @escaping @Sendable () -> Void) {
    DispatchQueue.global().async(execute: body)
}
