import Discovery
import Logging

/// Polls one application's instances and publishes them.
///
/// Every ``Configuration/interval`` (plus up to a tenth of it, drawn anew each time, so that
/// many clients started together spread out) it reads `<base>/apps/<APP>`; an app the server
/// does not know has no instances (once the registry itself has answered: a wrong base path is a
/// failure, not an empty app). Only the statuses asked for are kept (UP by default, as
/// Netflix's client does). A failure is published and the next read comes after
/// ``Configuration/errorBackoff``, never later than the interval.
public final class EurekaInstancer: CoreBackedInstancer {
    public struct Configuration: Sendable {
        /// How often to read; at least 1 s (Eureka's own clients: 30 s).
        public var interval: Duration
        /// The statuses to keep; `nil` keeps every instance.
        public var statuses: Set<EurekaStatus>?
        /// Address instances by their secure port.
        public var secure: Bool
        public var errorBackoff: Backoff

        public init(
            interval: Duration = .seconds(30), statuses: Set<EurekaStatus>? = [.up], secure: Bool = false,
            errorBackoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        ) {
            self.interval = max(interval, .seconds(1))
            self.statuses = statuses
            self.secure = secure
            self.errorBackoff = errorBackoff
        }
    }

    public let client: EurekaClient
    public let app: String
    public let core: InstancerCore

    /// Starts polling at once. The caller owns `client` and closes it after stopping the
    /// instancer.
    public init(
        client: EurekaClient, app: String, configuration: Configuration = Configuration(),
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("eureka")
        self.client = client
        let app = app.uppercased()
        self.app = app
        core = InstancerCore(cache: InstanceCache(confirmation: .byAnswer)) { cache in
            await Self.poll(client, app, configuration, cache, logger)
        }
    }

    private static func poll(
        _ client: EurekaClient, _ app: String, _ configuration: Configuration, _ cache: InstanceCache,
        _ logger: Logger
    ) async {
        var errorBackoff = configuration.errorBackoff
        // An app with no instances is a 404, as is every path under a wrong base path: the
        // first empty answer checks that the registry itself answers.
        var registryChecked = false
        while !Task.isCancelled {
            var delay = configuration.interval + configuration.interval * Double.random(in: 0...0.1)
            do throws(DiscoveryError) {
                // Instances made record by record as the answer arrives: the records themselves
                // are never all held (docs/benchmarks.md, "Memory per 100,000 instances").
                // An instance that has not changed is the one already held (Instance.reusing).
                let statuses = configuration.statuses
                let secure = configuration.secure
                let last = cache.instances ?? []
                let answer = try await client.instances(of: app) { record in
                    statuses?.contains(record.status) ?? true
                        ? record.instance(secure: secure)?.reusing(last) : nil
                }
                if answer.decoded == 0, !registryChecked {
                    guard try await client.registryAnswers() else {
                        let base = client.configuration.basePath
                        throw DiscoveryError(
                            .notFound,
                            "eureka: nothing answers at \(base.isEmpty ? "" : base)/apps (404): is the base path right? (/eureka for Spring Cloud, /eureka/v2 for Netflix)"
                        )
                    }
                    registryChecked = true
                }
                errorBackoff.reset()
                let instances = answer.values
                if instances.count < answer.decoded {
                    logger.debug(
                        "instances of other statuses, or without an enabled port or a usable address, skipped",
                        metadata: ["sd.app": "\(app)", "sd.skipped": "\(answer.decoded - instances.count)"])
                }
                cache.update(instances)
            } catch  where error.code == .stopped {
                return
            } catch {
                if Task.isCancelled { return }
                delay = min(errorBackoff.next(), configuration.interval)
                logger.debug(
                    "read failed",
                    metadata: ["sd.app": "\(app)", "sd.error": "\(error)", "sd.delay": "\(delay)"])
                cache.fail(error)
            }
            try? await Task.sleep(for: delay)
        }
    }
}
