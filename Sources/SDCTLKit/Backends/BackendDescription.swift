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
    static let all: [BackendDescription] = [
        .file, .zooKeeper, .etcd, .consul, .eureka, .srv, .dnssd, .mdns, .kubernetes,
    ]

    /// The implementations this build has.
    static var built: [any DiscoveryBackend.Type] { all.compactMap(\.implementation) }

    /// The backend a scheme names, built in or not.
    static func named(scheme: String) -> BackendDescription? {
        all.first { $0.schemes.contains(scheme) }
    }

    /// Whether a command line names a target of a built-in backend on the event loops: only
    /// then does starting sdctl pay for starting them (about a tenth of `--version`'s time,
    /// docs/benchmarks.md).
    ///
    /// On concrete types and bytes, not `some Sequence` and `firstRange(of:)`: a generic
    /// algorithm's associated types are looked up at run time, each lookup a scan of every
    /// protocol conformance in the binary (a tenth of `--version`'s instructions; docs/benchmarks.md).
    static func needsEventLoops(arguments: [String]) -> Bool {
        for argument in arguments {
            guard let scheme = scheme(of: argument) else { continue }
            for backend in all
            where backend.usesEventLoops && backend.implementation != nil && backend.schemes.contains(scheme)
            {
                return true
            }
        }
        return false
    }

    /// The lowercased scheme of `scheme://...`; nil without `://` after at least one byte.
    private static func scheme(of argument: String) -> String? {
        var argument = argument
        return argument.withUTF8 { bytes -> String? in
            guard bytes.count > 3 else { return nil }
            for index in 1..<(bytes.count - 2)
            where bytes[index] == UInt8(ascii: ":") && bytes[index + 1] == UInt8(ascii: "/")
                && bytes[index + 2] == UInt8(ascii: "/")
            {
                return String(decoding: bytes[..<index], as: UTF8.self).lowercased()
            }
            return nil
        }
    }
}
