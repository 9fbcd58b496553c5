/// What sdctl knows of a backend whether or not this build has it: its schemes and package
/// trait, whether it runs on swift-nio's event loops, and what the help, the manual and the
/// completions say of its targets and environment. Each backend's file declares its own
/// description beside its implementation, and ``all`` lists them: that one list feeds target
/// parsing, TARGET's help, the manual's TARGETS and ENVIRONMENT sections, the completions and
/// the event-loop decision at start-up.
struct BackendDescription: Sendable {
    /// What the backend is called in messages (`DNS`, `ZooKeeper`).
    let name: String
    /// The package trait that builds it in; `nil` for the file backend, always built.
    let trait: String?
    /// The URL schemes it answers to, as written before `://`.
    let schemes: [String]
    /// Whether its client runs on swift-nio's event loops, which sdctl then makes Swift
    /// Concurrency's executor (docs/etcd.md, "The executor sdctl").
    let usesEventLoops: Bool
    /// How TARGET's help names it (`zk://`).
    let shortForm: String
    /// The manual's forms of its targets.
    let targets: [CommandTable.Entry]
    /// The environment variables it reads.
    let environment: [CommandTable.Entry]
    /// Its implementation, when this build has it.
    let implementation: (any DiscoveryBackend.Type)?
    /// For a read-only backend, what to do instead of registering (the usage error says it).
    var readOnlyAdvice: String? = nil

    /// Every backend, in the order messages, help and the manual list them. A new backend is
    /// one file declaring its description and implementation, named here.
    static let all: [BackendDescription] = [.file, .zooKeeper, .etcd, .consul, .eureka, .srv, .kubernetes]

    /// The implementations this build has.
    static var built: [any DiscoveryBackend.Type] { all.compactMap(\.implementation) }

    /// The backend a scheme names, built in or not.
    static func named(scheme: String) -> BackendDescription? {
        all.first { $0.schemes.contains(scheme) }
    }

    /// Whether a command line names a target of a built-in backend on the event loops: only
    /// then does starting sdctl pay for starting them (about a tenth of `--version`'s time,
    /// docs/benchmarks.md).
    static func needsEventLoops(arguments: some Sequence<String>) -> Bool {
        arguments.contains { argument in
            guard let end = argument.firstRange(of: "://"), end.lowerBound > argument.startIndex else {
                return false
            }
            let scheme = argument[..<end.lowerBound].lowercased()
            return all.contains {
                $0.usesEventLoops && $0.implementation != nil && $0.schemes.contains(scheme)
            }
        }
    }
}
