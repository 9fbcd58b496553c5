/// What `watch` runs at each change once every target has answered: `--exec` and the
/// `--template`s, each in a worker of its own, behind a ``ChangeGate`` that decides when
/// (`--wait`, `--changes-only`, never twice for the same sets).
final class WatchActions: Sendable {
    let handler: WatchHandler?
    let templates: TemplateRunner?
    private let gate: ChangeGate?

    init(
        handler: WatchHandler?, templates: TemplateRunner?,
        gate configuration: ChangeGateStateMachine.Configuration
    ) {
        self.handler = handler
        self.templates = templates
        gate =
            handler == nil && templates == nil
            ? nil
            : ChangeGate(configuration) { snapshot in
                handler?.changed(snapshot)
                templates?.changed(snapshot)
            }
    }

    var isEmpty: Bool { gate == nil }

    /// Hands the sets to the gate; returns at once.
    func changed(_ snapshot: WatchHandler.Snapshot) {
        gate?.changed(snapshot)
    }

    /// Drops a burst still waiting for quiet, and lets the runs in progress, and those waiting,
    /// finish.
    func finish() async {
        gate?.finish()
        await handler?.finish()
        await templates?.finish()
    }
}
