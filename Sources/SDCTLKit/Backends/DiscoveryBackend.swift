import Discovery

/// A discovery backend as sdctl drives it: read-only (resolve, watch).
///
/// Adding a backend is one module with its client and instancer (and registrar), plus one file
/// here with a type conforming to this protocol (or to ``RegisteringBackend``) and its
/// ``BackendDescription``, named in ``BackendDescription/all``. The type parses its own target
/// URLs and environment (credentials never come from argv), builds the toolkit's instancer
/// and registrars, and maps its errors to exit codes; nothing else in sdctl knows which backend
/// it is talking to (docs/architecture.md, "Adding a backend").
protocol DiscoveryBackend: Sendable {
    /// What sdctl says of it: schemes, trait, help and manual text.
    static var backendDescription: BackendDescription { get }

    /// How often its instancer asks, for a backend that polls (`nil`: the backend pushes
    /// changes). `bench propagation` makes each change at a random point of that cycle.
    var pollInterval: Duration? { get }

    /// Parses a target of one of its schemes; errors are usage errors naming what is wrong.
    init(url: TargetURL, environment: [String: String]) throws(CLIError)

    /// The scheme of this target, as its users write it.
    var scheme: String { get }

    /// An instancer for the target, owning its connection: stopping it closes that.
    func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer

    /// The current set read once, without a watch, for `resolve` without `--wait-for`; nil
    /// when this backend (or this target, now) needs its instancer for that. Called within
    /// `--timeout`, and cancelled when it runs out; the set is what the instancer's first
    /// answer would be, and a failure the error its first failure would be.
    func resolveOnce(_ context: CommandContext) async throws(CLIError) -> [Instance]?

    /// The error and exit code for a failure of this backend.
    func cliError(_ error: DiscoveryError) -> CLIError
}

/// A backend in which `bench propagation` can make changes: registrars that share one
/// connection, whose rounds must time registration, not connecting. Every registering backend
/// is one; a read-only backend may be one by other means (DNS by RFC 2136 updates).
protocol ChangeMakingBackend: DiscoveryBackend {
    func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory
}

/// A backend that takes registrations (`register`, `deregister`).
protocol RegisteringBackend: ChangeMakingBackend {
    /// A registrar for `instance` owning its connection: deregistering closes it. `ttl` is the
    /// lifetime of a registration whose process vanished, where the backend has one.
    func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
        -> any Registrar

    /// Removes registrations (anyone's) by id or address; returns the ids removed.
    func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String]
}

/// Makes registrars that share one backend connection; ``close()`` ends it.
struct RegistrarFactory: Sendable {
    /// A step a registration needs before ``Registrar/register()`` that `bench propagation`
    /// times apart from register -> seen (mDNS: probing for the name, RFC 6762 section 8.1).
    struct Preparation: Sendable {
        /// Its row in the bench's table (`claim (probing)`).
        let name: String
        /// Its key in the bench's JSON (`claim`).
        let key: String
        let run: @Sendable (any Registrar) async throws -> Void
    }

    let make: @Sendable (Instance) throws(CLIError) -> any Registrar
    let close: @Sendable () -> Void
    var preparation: Preparation? = nil
    /// The address a watcher of the target reports a registration under: its own address
    /// unless the backend publishes another (mDNS without address resolution: `HOST.local:PORT`).
    var seenAs: @Sendable (any Registrar) -> String = { $0.instance.address }
}

extension DiscoveryBackend {
    static var schemes: [String] { backendDescription.schemes }

    var pollInterval: Duration? { nil }

    func resolveOnce(_ context: CommandContext) async throws(CLIError) -> [Instance]? { nil }

    func cliError(_ error: DiscoveryError) -> CLIError { CLIError(error) }

    /// Runs a toolkit call, mapping what it throws through ``cliError(_:)``.
    func mapping<Result>(_ body: () throws -> Result) throws(CLIError) -> Result {
        do {
            return try body()
        } catch let error as CLIError {
            throw error
        } catch let error as DiscoveryError {
            throw cliError(error)
        } catch {
            throw CLIError(.failure, "\(error)", cause: error)
        }
    }

    /// This backend as one that takes registrations, or the usage error saying it does not.
    func registering() throws(CLIError) -> any RegisteringBackend {
        guard let registering = self as? any RegisteringBackend else {
            let advice = Self.backendDescription.readOnlyAdvice.map { "; \($0)" } ?? ""
            throw CLIError(
                .usage,
                "\(Self.backendDescription.name) is read-only: \(scheme):// targets can be resolved and watched, not registered\(advice)"
            )
        }
        return registering
    }

    /// This backend as one `bench propagation` can make changes in, or the usage error.
    func changeMaking() throws(CLIError) -> any ChangeMakingBackend {
        guard let backend = self as? any ChangeMakingBackend else {
            throw CLIError(
                .usage,
                "\(Self.backendDescription.name) is read-only: bench propagation cannot change \(scheme)://")
        }
        return backend
    }
}

extension RegisteringBackend {
    func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
        RegistrarFactory(
            make: { instance throws(CLIError) in try makeRegistrar(for: instance, ttl: nil, context) },
            close: {})
    }
}
