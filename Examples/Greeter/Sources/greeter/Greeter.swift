import AsyncHTTPClient
import Discovery
import DiscoveryServiceLifecycle
import FileDiscovery
import Foundation
import Hummingbird
import LoadBalancing
import Logging
import NIOCore
import ServiceLifecycle

/// A Hummingbird service that registers itself in sdctl's file backend, drains on SIGTERM, and
/// (with `--calls SERVICE`) calls another service it finds through discovery.
///
///     greeter --name NAME --port PORT [--calls SERVICE] [--drain SECONDS]
@main
struct Greeter {
    static func main() async throws {
        let options = try Options(CommandLine.arguments.dropFirst())
        var logger = Logger(label: options.name)
        logger.logLevel = .info
        let environment = ProcessInfo.processInfo.environment
        let http = HTTPClient(eventLoopGroupProvider: .singleton)

        // This instance, in the file backend's directory for NAME ($SDCTL_HOME, as sdctl uses).
        let directory = try FileServiceDirectory(serviceName: options.name, environment: environment)
        let registrar = try FileRegistrar(
            directory: directory, instance: Instance(address: "127.0.0.1:\(options.port)"), logger: logger)
        // Registered only once its own /health answers; drained for --drain on SIGTERM.
        let readiness = RegistrationService.Readiness(startupInterval: .milliseconds(100)) {
            let response = try await http.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(options.port)/health"), timeout: .seconds(1))
            guard response.status == .ok else { throw NotReady(status: response.status.code) }
        }
        let registration = RegistrationService(
            registrar: registrar,
            configuration: .init(readiness: readiness, drain: .init(period: options.drain)), logger: logger)

        let router = Router()
        router.get("health") { _, _ in "ok" }
        router.get("hello") { _, _ in "hello from \(options.name)" }
        var services: [any Service] = []
        if let called = options.calls {
            // The service it calls: its instances, a balancer, and Retry moving past a failing one.
            let instancer = FileInstancer(
                directory: try FileServiceDirectory(serviceName: called, environment: environment),
                logger: logger)
            let endpointer = DefaultEndpointer<String>(instancer: instancer) { ("http://\($0.address)", nil) }
            let retry = Retry(RoundRobinBalancer(endpointer), maxAttempts: 3, timeout: .seconds(5))
            router.get("call") { _, _ in
                let answer = try await Self.get("/hello", retry: retry, http: http)
                return "\(options.name) called \(called): \(answer)"
            }
            services.append(InstancerService(instancer))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: options.port)),
            logger: logger)
        // Shut down in reverse: the registration drains first while the server still serves.
        let group = ServiceGroup(
            configuration: .init(
                services: services + [app, registration], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        try await http.shutdown()
    }

    /// `GET path` on one of the called service's instances (docs/library.md's example).
    static func get(
        _ path: String, retry: Retry<RoundRobinBalancer<DefaultEndpointer<String>>>, http: HTTPClient
    ) async throws -> String {
        try await retry { base in
            let left = (RetryContext.deadline ?? .now + .seconds(5)) - .now
            let response = try await http.execute(
                HTTPClientRequest(url: base + path), timeout: .nanoseconds(Int64(left / .nanoseconds(1))))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code < 500 else { throw NotReady(status: response.status.code) }
            return String(buffer: body)
        }
    }
}

struct NotReady: Error, Sendable {
    let status: UInt
}
