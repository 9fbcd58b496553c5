/// When a watch's actions (`--exec`, `--template`) run, as a value: `--wait MIN[:MAX]`
/// quiescence with consul-template's meaning, `--changes-only`, and never twice for the same
/// content.
///
/// - Quiescence: after a change, the actions run once no change has come for MIN, but no
///   later than MAX after the first change of the burst (never later, however busy the
///   backend).
/// - The first complete set runs them at once unless `waitFirst` (then it waits as a change
///   does) or `skipFirst` (then it only becomes what later changes are compared with).
/// - A set whose content is what the actions last ran with (a backend republishing its set
///   after an outage, a burst that ended where it began) runs nothing.
struct ChangeGateStateMachine: Sendable {
    struct Configuration: Sendable {
        var minimum: Duration?
        var maximum: Duration?
        var waitFirst = false
        var skipFirst = false
    }

    enum Action: Sendable, Equatable {
        case none
        case run(WatchHandler.Snapshot)
        /// Call ``timerFired(now:)`` at this instant (it replaces any timer asked for before).
        case wake(at: ContinuousClock.Instant)
    }

    private struct Burst {
        var snapshot: WatchHandler.Snapshot
        var first: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    let configuration: Configuration
    private var last: WatchHandler.Snapshot?
    private var seenFirst = false
    private var burst: Burst?

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    mutating func changed(_ snapshot: WatchHandler.Snapshot, now: ContinuousClock.Instant) -> Action {
        if !seenFirst {
            seenFirst = true
            if configuration.skipFirst {
                last = snapshot
                return .none
            }
            if !configuration.waitFirst || configuration.minimum == nil {
                last = snapshot
                return .run(snapshot)
            }
        }
        guard configuration.minimum != nil else {
            guard snapshot != last else { return .none }
            last = snapshot
            return .run(snapshot)
        }
        if var burst {
            burst.snapshot = snapshot
            burst.last = now
            self.burst = burst
        } else {
            burst = Burst(snapshot: snapshot, first: now, last: now)
        }
        return .wake(at: deadline(burst!))
    }

    mutating func timerFired(now: ContinuousClock.Instant) -> Action {
        guard let burst else { return .none }
        let deadline = deadline(burst)
        if now < deadline { return .wake(at: deadline) }
        self.burst = nil
        guard burst.snapshot != last else { return .none }
        last = burst.snapshot
        return .run(burst.snapshot)
    }

    private func deadline(_ burst: Burst) -> ContinuousClock.Instant {
        let quiet = burst.last + (configuration.minimum ?? .zero)
        guard let maximum = configuration.maximum else { return quiet }
        return min(quiet, burst.first + maximum)
    }
}

extension WatchHandler.Snapshot: Equatable {
    static func == (lhs: WatchHandler.Snapshot, rhs: WatchHandler.Snapshot) -> Bool {
        lhs.groups.count == rhs.groups.count
            && zip(lhs.groups, rhs.groups).allSatisfy { $0.label == $1.label && $0.set == $1.set }
    }
}
