import Foundation
import NIOHTTP1

/// The Eureka server emulator (Tests/Emulators/eureka_emulator.py), with its own switches (the
/// read cache, old servers' single-object answers, a restart that forgets every lease).
/// docs/eureka.md says what it covers.
public final class EurekaEmulator: Sendable {
    public struct Options: Sendable {
        /// `/eureka` (Spring Cloud) or `/eureka/v2` (Netflix).
        public var basePath: String
        /// Basic authentication required of every request.
        public var user: String?
        public var password: String?
        /// How often leases that ran out are removed (real servers: 60 s).
        public var evictionInterval: String?
        public var tls: EmulatorProcess.TLS?

        public init(
            basePath: String = "/eureka", user: String? = nil, password: String? = nil,
            evictionInterval: String? = nil, tls: EmulatorProcess.TLS? = nil
        ) {
            self.basePath = basePath
            self.user = user
            self.password = password
            self.evictionInterval = evictionInterval
            self.tls = tls
        }
    }

    public let process: EmulatorProcess
    public let options: Options
    public var port: Int { process.port }
    public var address: String { process.address }

    /// Runs `body` with an emulator and stops it afterwards, whatever happens.
    public static func with<T>(
        _ options: Options = Options(), _ body: (EurekaEmulator) async throws -> T
    ) async throws -> T {
        let emulator = try await EurekaEmulator(options)
        defer { emulator.stop() }
        return try await body(emulator)
    }

    public init(_ options: Options = Options()) async throws {
        var arguments = ["--base-path", options.basePath]
        if let user = options.user { arguments += ["--user", user, "--password", options.password ?? ""] }
        if let interval = options.evictionInterval { arguments += ["--eviction-interval", interval] }
        self.options = options
        process = try await EmulatorProcess(
            script: "eureka_emulator.py", arguments: arguments, tls: options.tls)
    }

    public func stop() { process.stop() }

    /// Sends a request under the base path (`/apps/WEB`), as JSON.
    @discardableResult
    public func request(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> (
        status: Int, body: String
    ) {
        var headers = [("Accept", "application/json")]
        if let user = options.user {
            let credentials = Array("\(user):\(options.password ?? "")".utf8)
            headers.append(("Authorization", "Basic " + Self.base64(credentials)))
        }
        return try await process.request(method, options.basePath + path, body: body, headers: headers)
    }

    /// Also `read_cache` (seconds) and `single_object`.
    public func faults(_ json: String) async throws { try await process.faults(json) }

    /// Forgets every lease, as a server restarted.
    public func restart() async throws { try await process.control("/_emulator/restart") }

    public func requestCounts() async throws -> [String: Int] { try await process.requestCounts() }

    private static func base64(_ bytes: [UInt8]) -> String {
        // Foundation's, through a Data.
        Data(bytes).base64EncodedString()
    }
}
