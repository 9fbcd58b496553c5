import Discovery
import Synchronization

/// `sdctl resolve TARGET [--wait-for N] [--pick BALANCER [-n K] [--key KEY] [--zone ZONE]]`
enum ResolveCommand {
    /// How long resolve waits for a first answer when neither --timeout nor --wait-for is given.
    static let defaultTimeout: Duration = .seconds(10)

    static func run(_ context: CommandContext) async throws(CLIError) -> ExitCode {
        let target = try context.target()
        let waitFor = try context.integer("wait-for", minimum: 1)
        let pick = try PickRequest.parse(context)
        let instancer = try target.backend.makeInstancer(context)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        let seen = Mutex<[Instance]?>(nil)
        let timeout = context.timeout ?? (waitFor == nil ? defaultTimeout : nil)

        let outcome = await withTimeout(timeout) { () async -> Result<[Instance], DiscoveryError>? in
            for await event in subscription {
                switch event {
                case .instances(let set):
                    seen.withLock { $0 = set }
                    if set.count >= (waitFor ?? 0) { return .success(set) }
                case .failure(let error):
                    // Without --wait-for the first answer decides; with it, the backend retries.
                    if waitFor == nil { return .failure(error) }
                    context.logger.info("backend error while waiting", metadata: ["error": "\(error)"])
                }
            }
            return nil
        }
        switch outcome {
        case .some(.some(.success(let set))):
            guard let pick, !set.isEmpty else {
                print(set, context)
                return set.isEmpty ? .noInstances : .success
            }
            do {
                printPicks(try picks(pick, from: set), pick, context)
            } catch {
                throw target.backend.cliError(error)
            }
            return .success
        case .some(.some(.failure(let error))):
            throw target.backend.cliError(error)
        case .some(.none):
            throw CLIError(.failure, "the instancer stopped before answering")
        case .none:
            let partial = seen.withLock { $0 }
            if let partial { print(partial, context) }
            let wanted = waitFor.map { "\($0) instance(s)" } ?? "an answer from the backend"
            let got = partial.map { "; saw \($0.count)" } ?? ""
            throw CLIError(
                .timedOut, "timed out after \(DurationParser.format(timeout!)) waiting for \(wanted)\(got)")
        }
    }

    static func print(_ set: [Instance], _ context: CommandContext) {
        switch context.format {
        case .text:
            for instance in set { context.output.line(instance.address) }
        case .json:
            context.output.json(.array(set.map(JSONValue.init)))
        }
    }
}
