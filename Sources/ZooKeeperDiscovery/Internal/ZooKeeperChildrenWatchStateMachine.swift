import Discovery

/// The state of a ``ZooKeeperChildrenWatch``, and every decision it makes.
///
/// The watch feeds it what the C client reports (session events, listings, reads, timers) and
/// performs the action each input returns after releasing its lock. Three things move
/// independently, so they are three fields rather than one product of states:
/// - ``listing``: at most one listing at a time; a request during one is remembered once.
/// - ``outage``: a disconnect starts one connection check at a time; a check that finds the
///   client still unconnected reports it, and the set is published again once after a
///   reported outage ends.
/// - the set: the names seen and their usable instances, kept sorted.
///
/// A children watch armed in the current session is remembered (``isWatchArmed``): a listing
/// retried after a failed read must not arm a second one (each would fire a listing), and a
/// new session, which has none of the old one's watches, arms one again.
struct ZooKeeperChildrenWatchStateMachine: Sendable {
    enum Listing: Sendable, Equatable {
        /// No listing under way.
        case idle
        /// A listing (children, then the data of new children, or creating the path first) is
        /// under way; `again` if another was asked for meanwhile.
        case listing(again: Bool)
    }

    enum Outage: Sendable, Equatable {
        /// Nothing suspected.
        case none
        /// A disconnect started a connection check, which is pending; nothing reported yet.
        case checking
        /// A failure was published since the last set; `checking` while its check is pending.
        case reported(checking: Bool)

        var isChecking: Bool {
            switch self {
            case .none: false
            case .checking: true
            case .reported(let checking): checking
            }
        }
    }

    enum StartAction: Sendable, Equatable {
        /// List the children, arming a children watch if `armingWatch`, and report
        /// ``listed(names:armedWatch:)`` (or a failure).
        case list(armingWatch: Bool)
        /// Check the connection after the connect timeout and report ``connectionChecked(connected:)``.
        case checkConnection
        case none
    }

    enum ListAction: Sendable, Equatable {
        /// List the children, arming a children watch if `armingWatch`.
        case list(armingWatch: Bool)
        case none
    }

    enum ConnectedAction: Sendable, Equatable {
        /// A new session: list the children again and re-arm the watch.
        case list(armingWatch: Bool)
        /// The same session after a reported outage: publish the set again, so that
        /// subscribers see the outage end.
        case publish([Instance])
        case none
    }

    enum CheckAction: Sendable, Equatable {
        /// Still unconnected: publish the failure (`everConnected`: the connection was lost, as
        /// against never made), report ``outageReported(connectedNow:)``, and check again later.
        case reportAndCheckAgain(everConnected: Bool)
        /// Connected (or stopped): the check ends.
        case none
    }

    private(set) var listing = Listing.idle
    private(set) var outage = Outage.none
    private(set) var isStopped = false
    /// The session the watch last listed in (0: none yet). Counts as ``ZooKeeperClient/sessionNumber``.
    private(set) var session = 0
    private(set) var isWatchArmed = false
    /// The children read, usable or not (their usable instances, ids the names, are in ``sorted``).
    // Names only: instances held twice cost 16 MB at 100,000 children.
    private(set) var known: Set<String> = []
    /// The usable instances of ``known``, kept sorted so that a change costs an insertion, not a
    /// sort of the whole set.
    private(set) var sorted: [Instance] = []
    /// Whether a set was ever published (so that the end of an outage can publish it again).
    private(set) var hasPublished = false
    private var backoff: Backoff

    init(backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))) {
        self.backoff = backoff
    }

    // MARK: - Lifecycle

    /// The watch begins; `connectedSession` is the client's session number if it is connected.
    mutating func begin(connectedSession: Int?) -> StartAction {
        guard let connectedSession else {
            return startCheckingConnection() ? .checkConnection : .none
        }
        session = connectedSession
        switch requestListing() {
        case .list(let arming): return .list(armingWatch: arming)
        case .none: return .none
        }
    }

    /// Stops the watch: no listing or connection check starts after this. Returns whether it
    /// was running.
    mutating func stop() -> Bool {
        defer { isStopped = true }
        return !isStopped
    }

    // MARK: - The session

    /// The client connected, in session `number`.
    mutating func connected(session number: Int) -> ConnectedAction {
        guard !isStopped else { return .none }
        guard number != session else {
            return reconnected().map(ConnectedAction.publish) ?? .none
        }
        // A new session (after an expiry) has none of the old one's watches, and its listing
        // publishes a set, which ends any reported outage.
        session = number
        isWatchArmed = false
        if case .reported(let checking) = outage { outage = checking ? .checking : .none }
        switch requestListing() {
        case .list(let arming): return .list(armingWatch: arming)
        case .none: return .none
        }
    }

    /// The client lost its connection. Returns whether to start a connection check (one at a
    /// time).
    mutating func disconnected() -> Bool {
        startCheckingConnection()
    }

    /// A connection check found the client `connected` or not.
    mutating func connectionChecked(connected: Bool) -> CheckAction {
        guard !isStopped, !connected else {
            switch outage {
            case .none, .checking: outage = .none
            case .reported: outage = .reported(checking: false)
            }
            return .none
        }
        outage = .reported(checking: true)
        return .reportAndCheckAgain(everConnected: session != 0)
    }

    /// The failure a check reported was published; a reconnect that came meanwhile must not
    /// leave it standing. Returns the set to publish again, if any.
    mutating func outageReported(connectedNow: Bool) -> [Instance]? {
        connectedNow ? reconnected() : nil
    }

    /// The set to publish again after a reported outage, once.
    private mutating func reconnected() -> [Instance]? {
        guard case .reported(let checking) = outage else { return nil }
        outage = checking ? .checking : .none
        return hasPublished ? sorted : nil
    }

    private mutating func startCheckingConnection() -> Bool {
        guard !isStopped, !outage.isChecking else { return false }
        outage = outage == .none ? .checking : .reported(checking: true)
        return true
    }

    // MARK: - Listing

    /// Asks for a listing: starts one, or remembers to list again after the one under way.
    mutating func requestListing() -> ListAction {
        guard !isStopped else { return .none }
        switch listing {
        case .idle:
            listing = .listing(again: false)
            return .list(armingWatch: !isWatchArmed)
        case .listing:
            listing = .listing(again: true)
            return .none
        }
    }

    /// The children watch fired (it is spent).
    mutating func watchFired() -> ListAction {
        isWatchArmed = false
        return requestListing()
    }

    /// A listing answered with `names`; `armedWatch` if its request armed a children watch
    /// (the library arms one only with a successful answer). Returns the names whose data must
    /// be read: those not seen before.
    mutating func listed(names: [String], armedWatch: Bool) -> [String] {
        if armedWatch { isWatchArmed = true }
        return names.filter { !known.contains($0) }
    }

    /// The listing's reads are in: `parsed` holds the names of `fresh` that still exist, with
    /// their instance if their data is an address. Returns the set to publish; report
    /// ``listingFinished()`` after publishing it.
    mutating func read(
        names: [String], fresh: [String], parsed: [(name: String, instance: Instance?)]
    ) -> [Instance] {
        // Every listed name is either fresh or known, so if the known ones plus the fresh ones
        // account for all of them, nothing was removed and no set needs building.
        if names.count - fresh.count != known.count {
            let gone = known.subtracting(names)
            known.subtract(gone)
            sorted.removeAll { gone.contains($0.id ?? "") }
        }
        for (name, _) in parsed { known.insert(name) }
        let added = parsed.compactMap(\.instance)
        if added.count <= 8 {
            for instance in added {
                sorted.insert(instance, at: sorted.partitioningIndex { !($0 < instance) })
            }
        } else {
            // Many at once (the first listing): one sort. An insertion each moved half the array
            // every time, O(N^2): 28.7 s for the first listing of 100,000 children.
            sorted.append(contentsOf: added)
            sorted.sort()
        }
        backoff.reset()
        hasPublished = true
        return sorted
    }

    /// The listing's set was published: lists again if that was asked for meanwhile.
    // Not part of `read`: a listing started before the set is out could publish a newer set
    // first, and the older one would then stand.
    mutating func listingFinished() -> ListAction {
        guard case .listing(let again) = listing else { return .none }
        listing = .idle
        return again ? requestListing() : .none
    }

    /// The path the listing asked for was created: lists it now.
    mutating func pathCreated() -> ListAction {
        listing = .idle
        return requestListing()
    }

    /// A listing or one of its reads failed. Returns how long to wait before listing again.
    mutating func listingFailed() -> Duration {
        listing = .idle
        return backoff.next()
    }
}
