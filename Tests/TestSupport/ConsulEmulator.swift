import NIOHTTP1

/// The Consul agent emulator (Tests/Emulators/consul_emulator.py): one agent, one node, one
/// datacenter, with its own switches (a restart that forgets registrations, an index going
/// backwards). docs/consul.md says what it covers.
public final class ConsulEmulator: Sendable {
    public struct Options: Sendable {
        /// Turns ACLs on: this token may do everything; no token may read nothing, write nothing.
        public var aclToken: String?
        /// A token that may read but not write.
        public var aclReadToken: String?
        public var tls: EmulatorProcess.TLS?
        /// Serve on this Unix socket instead of a TCP port.
        public var unixSocket: String?
        /// The least DeregisterCriticalServiceAfter (Consul's is 1m) and the reaper's period
        /// (Consul's is 30s), shortened for tests.
        public var minimumDeregisterAfter: String?
        public var reapInterval: String?

        public init(
            aclToken: String? = nil, aclReadToken: String? = nil, tls: EmulatorProcess.TLS? = nil,
            unixSocket: String? = nil, minimumDeregisterAfter: String? = nil, reapInterval: String? = nil
        ) {
            self.aclToken = aclToken
            self.aclReadToken = aclReadToken
            self.tls = tls
            self.unixSocket = unixSocket
            self.minimumDeregisterAfter = minimumDeregisterAfter
            self.reapInterval = reapInterval
        }
    }

    /// The process and its shared controls (faults, request counts).
    public let process: EmulatorProcess
    public var port: Int { process.port }
    public var address: String { process.address }
    /// What CONSUL_HTTP_ADDR would say.
    public var httpAddress: String { process.url }

    /// Runs `body` with an emulator and stops it afterwards, whatever happens.
    public static func with<T>(
        _ options: Options = Options(), _ body: (ConsulEmulator) async throws -> T
    ) async throws -> T {
        let emulator = try await ConsulEmulator(options)
        defer { emulator.stop() }
        return try await body(emulator)
    }

    public init(_ options: Options = Options()) async throws {
        var arguments: [String] = []
        if let token = options.aclToken { arguments += ["--acl-token", token] }
        if let token = options.aclReadToken { arguments += ["--acl-read-token", token] }
        if let value = options.minimumDeregisterAfter { arguments += ["--min-deregister-after", value] }
        if let value = options.reapInterval { arguments += ["--reap-interval", value] }
        process = try await EmulatorProcess(
            script: "consul_emulator.py", arguments: arguments, tls: options.tls,
            unixSocket: options.unixSocket)
    }

    public func stop() { process.stop() }

    /// Sends a request to the emulator, with a token when given; returns the status and body.
    @discardableResult
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = nil
    ) async throws -> (status: Int, body: String) {
        try await process.request(
            method, path, body: body, headers: token.map { [("X-Consul-Token", $0)] } ?? [])
    }

    /// Also `constant_index` (answer every blocking query at once with it) and `first_tag_only`.
    public func faults(_ json: String) async throws { try await process.faults(json) }

    /// Forgets every registration, as an agent restarted without its state.
    public func restart() async throws { try await process.control("/_emulator/restart") }

    /// Drops every index below what clients have seen.
    public func indexBackwards() async throws { try await process.control("/_emulator/index-backwards") }

    /// Makes the follower that answers `?stale` reads `milliseconds` behind its leader
    /// (`X-Consul-LastContact`); reads without `stale` still come from the leader (0).
    public func followerLastContact(milliseconds: Int) async throws {
        try await process.control("/_emulator/last-contact", #"{"milliseconds":\#(milliseconds)}"#)
    }

    public func requestCounts() async throws -> [String: Int] { try await process.requestCounts() }

    public func serverNames() async throws -> [String] { try await process.serverNames() }
}
