import Discovery
import Logging

/// `register --ready URL`: register only once the probe passes, take the registration out
/// after `--ready-failures` failures in a row, and put it back when the probe passes again.
extension RegistrationSession {
    /// Probes until the first pass; `nil` then, or the last failure once `timeout` ran out.
    static func waitUntilReady(
        _ readiness: RegistrationPlan.Readiness, timeout: Duration?, _ context: CommandContext
    ) async -> String? {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let result = await readiness.probe.check(readiness.address)
            if result.reachable { return nil }
            let failure = result.failure ?? "failed"
            context.logger.debug(
                "not ready", metadata: ["probe": "\(readiness.url)", "failure": "\(failure)"])
            var pause = readiness.startupInterval
            if let deadline {
                let left = deadline - clock.now
                if left <= .zero { return failure }
                pause = min(pause, left)
            }
            do { try await Task.sleep(for: pause) } catch { return failure }
        }
    }

    /// Probes every interval until `failures` fail in a row; returns the last failure.
    static func failuresInARow(_ readiness: RegistrationPlan.Readiness, _ context: CommandContext) async
        -> String
    {
        var inARow = 0
        while true {
            do { try await Task.sleep(for: readiness.interval) } catch { return "cancelled" }
            let result = await readiness.probe.check(readiness.address)
            if result.reachable {
                inARow = 0
                continue
            }
            inARow += 1
            let failure = result.failure ?? "failed"
            context.logger.info(
                "probe failed",
                metadata: ["probe": "\(readiness.url)", "failure": "\(failure)", "inARow": "\(inARow)"])
            if inARow >= readiness.failures { return failure }
        }
    }

    /// Takes the registration out after the probe failed too often.
    mutating func lapse(_ readiness: RegistrationPlan.Readiness, _ failure: String) async {
        let id = registrar.instance.id ?? registrar.instance.address
        context.output.note(
            "\(readiness.url) failed \(readiness.failures) probe\(readiness.failures == 1 ? "" : "s") in a row (\(failure)); deregistering \(id)"
        )
        do {
            try await RegisterCommand.deregisterUncancelled(registrar, context)
        } catch {
            context.output.note("deregistering \(id) failed: \(error.message)")
        }
        registered = false
    }

    /// Waits for the probe to pass again and registers anew; a registration that fails is
    /// tried again an interval later. Returns the session's exit when a stop comes first.
    mutating func recover(_ readiness: RegistrationPlan.Readiness) async throws(CLIError) -> ExitCode? {
        let context = self.context
        while true {
            switch await race({ await Self.waitUntilReady(readiness, timeout: nil, context) }) {
            case .finished: break
            case .stopped(let stop): return try await end(stop)
            case .cancelled: return try await end(nil)
            }
            let fresh = try makeRegistrar()
            registrar = fresh
            switch await race({ await RegisterCommand.registerResult(fresh, context) }) {
            case .finished(.success):
                registered = true
                context.output.note(
                    "\(readiness.url) passes again; registered \(fresh.instance.id ?? fresh.instance.address)"
                )
                return nil
            case .finished(.failure(let error)):
                context.output.note(
                    "registering again failed (\(error.message)); trying again in \(DurationParser.format(readiness.interval))"
                )
                switch await race({ try? await Task.sleep(for: readiness.interval) }) {
                case .finished: continue
                case .stopped(let stop): return try await end(stop)
                case .cancelled: return try await end(nil)
                }
            case .stopped(let stop): return try await end(stop)
            case .cancelled: return try await end(nil)
            }
        }
    }
}
