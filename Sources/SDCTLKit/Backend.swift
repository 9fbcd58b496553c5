import Discovery
import FileDiscovery
import Logging

/// Builds the toolkit's instancers and registrars for a ``Target``.
enum Backend {
    static func unavailable(_ target: Target) -> CLIError {
        CLIError(.failure, "backend '\(target.scheme)' is not available in this build of sdctl")
    }

    static func instancer(for target: Target, logger: Logger) throws(CLIError) -> any Instancer {
        switch target {
        case .file(let directory):
            return FileInstancer(directory: directory, logger: logger)
        default:
            throw unavailable(target)
        }
    }

    static func registrar(for target: Target, instance: Instance, ttl: Duration?, logger: Logger)
        throws(CLIError) -> any Registrar
    {
        switch target {
        case .file(let directory):
            do {
                return try FileRegistrar(directory: directory, instance: instance, logger: logger)
            } catch {
                throw CLIError(error)
            }
        default:
            throw unavailable(target)
        }
    }

    /// Removes registrations by id or address; returns the ids removed.
    static func deregister(_ target: Target, idOrAddress: String) throws(CLIError) -> [String] {
        switch target {
        case .file(let directory):
            do {
                return try directory.remove(idOrAddress: idOrAddress)
            } catch {
                throw CLIError(error)
            }
        default:
            throw unavailable(target)
        }
    }
}
