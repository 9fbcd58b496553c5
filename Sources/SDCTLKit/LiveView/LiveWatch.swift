import Discovery

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sdctl watch` when stdout is a terminal: a full-screen table redrawn in place at every
/// change, every second (ages) and at every resize, until q, Ctrl-C, SIGTERM, `--count` or
/// `--timeout`; the terminal is restored on each of those ways out.
struct LiveWatch {
    let targets: [LabelledTarget]
    /// Asked at each redraw how current their sets are.
    let instancers: [any Instancer]
    let context: CommandContext
    let actions: WatchActions

    /// `nil` when the watch ended on its own terms (q, a signal, --count); the failure that
    /// ended it otherwise; `.none` when --timeout did.
    func run(
        _ inputs: WatchInputs, _ input: AsyncStream<WatchCommand.Input>.Continuation,
        count: Int?, timeout: Duration?
    ) async -> (target: Int, error: DiscoveryError)?? {
        let terminal = LiveTerminal()
        defer { terminal.restore() }
        let signals = await SignalWatcher.start([SIGINT, SIGTERM, SIGWINCH]) { number in
            input.yield(number == SIGWINCH ? .resize : .signal(number))
        }
        defer { signals.cancel() }
        terminal.readKeys { input.yield(.key($0)) }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                input.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let targets = self.targets
        let instancers = self.instancers
        let actions = self.actions
        let color = context.output.color
        return await withTimeout(timeout) { () async -> (target: Int, error: DiscoveryError)? in
            var view = LiveWatchView(targets: targets.map { ($0.label, $0.target.scheme) })
            var sets = [[Instance]?](repeating: nil, count: targets.count)
            var events = 0
            func draw() {
                view.freshness = instancers.map(\.freshness)
                view.wallClock = InstanceFreshness.now()
                let size = terminal.size
                let lines = view.render(width: size.columns, height: size.rows, now: Self.now()) {
                    text, code in
                    color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
                }
                terminal.draw(lines)
            }
            draw()
            for await item in inputs {
                switch item {
                case .event(let index, .instances(let set)):
                    view.apply(set, target: index, now: Self.now())
                    sets[index] = set
                    if !sets.contains(where: { $0 == nil }) {
                        actions.changed(WatchCommand.snapshot(targets, sets))
                    }
                    events += 1
                case .event(let index, .failure(let error)):
                    if sets[index] == nil || error.code == .permissionDenied { return (index, error) }
                    view.fail(error.message, target: index, now: Self.now())
                    events += 1
                case .key(let key):
                    // q, Q, or a Ctrl-C that reached us as a byte (ISIG off in a nested terminal).
                    if key == UInt8(ascii: "q") || key == UInt8(ascii: "Q") || key == 0x03 { return nil }
                    continue
                case .signal:
                    return nil
                case .handlerEnded(let outcome):
                    view.handlerStatus = outcome.summary
                case .templateFailed(let message):
                    view.handlerStatus = message
                case .tick, .resize:
                    break
                }
                draw()
                if let count, events >= count { return nil }
            }
            return nil
        }
    }

    static func now() -> Double {
        Double(monotonicNanoseconds()) / 1e9
    }
}
