import Discovery

/// A discovery backend as sdctl drives it.
///
/// Adding a backend is one module with its client, instancer and registrar, plus one file here
/// with a type conforming to this protocol, named in ``Target/backends``. The type parses its
/// own target URLs and environment (credentials never come from argv), builds the toolkit's
/// instancer and registrars, and maps its errors to exit codes; nothing else in sdctl knows
/// which backend it is talking to.
protocol DiscoveryBackend: Sendable {
    /// The URL schemes it answers to, as written before `://`.
    static var schemes: [String] { get }

    /// How often its instancer asks, for a backend that polls (`nil`: the backend pushes
    /// changes). `bench propagation` makes each change at a random point of that cycle.
    var pollInterval: Duration? { get }

    /// Parses a target of one of ``schemes``; errors are usage errors naming what is wrong.
    init(url: TargetURL, environment: [String: String]) throws(CLIError)

    /// The scheme of this target, as its users write it.
    var scheme: String { get }

    /// An instancer for the target, owning its connection: stopping it closes that.
    func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer

    /// A registrar for `instance` owning its connection: deregistering closes it. `ttl` is the
    /// lifetime of a registration whose process vanished, where the backend has one.
    func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
        -> any Registrar

    /// Registrars that share one connection, for `bench propagation`, whose rounds must time
    /// registration, not connecting.
    func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory

    /// Removes registrations (anyone's) by id or address; returns the ids removed.
    func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String]

    /// The error and exit code for a failure of this backend.
    func cliError(_ error: DiscoveryError) -> CLIError
}

/// Makes registrars that share one backend connection; ``close()`` ends it.
struct RegistrarFactory: Sendable {
    let make: @Sendable (Instance) throws(CLIError) -> any Registrar
    let close: @Sendable () -> Void
}

extension DiscoveryBackend {
    var pollInterval: Duration? { nil }

    func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
        RegistrarFactory(
            make: { instance throws(CLIError) in try makeRegistrar(for: instance, ttl: nil, context) },
            close: {})
    }

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
}
