import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The Consul agent emulator (Tests/Emulators/consul_emulator.py, Python's standard library
/// only) on a free loopback port or a Unix socket, with its fault switches and request counts.
/// docs/consul.md says what it covers.
public final class ConsulEmulator: Sendable {
    public struct Options: Sendable {
        /// Turns ACLs on: this token may do everything; no token may read nothing, write nothing.
        public var aclToken: String?
        /// A token that may read but not write.
        public var aclReadToken: String?
        /// Serve HTTPS.
        public var tls: TLS?
        /// Serve on this Unix socket instead of a TCP port.
        public var unixSocket: String?
        /// The least DeregisterCriticalServiceAfter (Consul's is 1m) and the reaper's period
        /// (Consul's is 30s), shortened for tests.
        public var minimumDeregisterAfter: String?
        public var reapInterval: String?

        public init(
            aclToken: String? = nil, aclReadToken: String? = nil,
            tls: TLS? = nil, unixSocket: String? = nil,
            minimumDeregisterAfter: String? = nil, reapInterval: String? = nil
        ) {
            self.aclToken = aclToken
            self.aclReadToken = aclReadToken
            self.tls = tls
            self.unixSocket = unixSocket
            self.minimumDeregisterAfter = minimumDeregisterAfter
            self.reapInterval = reapInterval
        }
    }

    /// HTTPS with this certificate and key, requiring client certificates signed by `clientCA`
    /// when it is set; the fixture's own requests then present `clientCertificate`.
    public struct TLS: Sendable {
        public var certificate: String
        public var key: String
        public var clientCA: String?
        public var clientCertificate: String?
        public var clientKey: String?

        public init(
            certificate: String, key: String, clientCA: String? = nil, clientCertificate: String? = nil,
            clientKey: String? = nil
        ) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
            self.clientCertificate = clientCertificate
            self.clientKey = clientKey
        }
    }

    /// The TCP port; 0 on a Unix socket.
    public let port: Int
    public let options: Options
    private let process: Process
    private let stdin: Pipe
    private let http: HTTPClient

    /// `127.0.0.1:port`.
    public var address: String { "127.0.0.1:\(port)" }

    /// What CONSUL_HTTP_ADDR would say.
    public var httpAddress: String {
        if let path = options.unixSocket { return "unix://\(path)" }
        return (options.tls != nil ? "https://" : "http://") + address
    }

    /// Runs `body` with an emulator and stops it afterwards, whatever happens.
    public static func with<T>(
        _ options: Options = Options(), _ body: (ConsulEmulator) async throws -> T
    ) async throws -> T {
        let emulator = try await ConsulEmulator(options)
        defer { emulator.stop() }
        return try await body(emulator)
    }

    public init(_ options: Options = Options()) async throws {
        var arguments = [Self.script, "--port", "0"]
        if let token = options.aclToken { arguments += ["--acl-token", token] }
        if let token = options.aclReadToken { arguments += ["--acl-read-token", token] }
        if let tls = options.tls {
            arguments += ["--tls-cert", tls.certificate, "--tls-key", tls.key]
            if let ca = tls.clientCA { arguments += ["--tls-client-ca", ca] }
        }
        if let path = options.unixSocket { arguments += ["--unix", path] }
        if let value = options.minimumDeregisterAfter { arguments += ["--min-deregister-after", value] }
        if let value = options.reapInterval { arguments += ["--reap-interval", value] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PythonClients.systemPython)
        process.arguments = PythonClients.systemPython == "/usr/bin/env" ? ["python3"] + arguments : arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        // The first line says where it listens; read off the cooperative pool (it blocks).
        let line: String = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var bytes: [UInt8] = []
                while true {
                    let byte = stdout.fileHandleForReading.readData(ofLength: 1)
                    if byte.isEmpty || byte.first == 0x0A { break }
                    bytes.append(byte.first!)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        guard line.hasPrefix("listening ") else {
            process.terminate()
            throw ServerProcesses.Unavailable("the Consul emulator did not start: '\(line)'")
        }
        self.port = options.unixSocket == nil ? Int(line.split(separator: " ")[1]) ?? 0 : 0
        self.options = options
        self.process = process
        self.stdin = stdin
        var configuration = HTTPClient.Configuration(certificateVerification: .none)
        if let tls = options.tls, let certificate = tls.clientCertificate, let key = tls.clientKey {
            configuration.tlsConfiguration?.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate)
                .map {
                    .certificate($0)
                }
            configuration.tlsConfiguration?.privateKey = .privateKey(
                try NIOSSLPrivateKey(file: key, format: .pem))
        }
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    deinit { stop() }

    /// Stops the emulator. Idempotent.
    public func stop() {
        if process.isRunning {
            process.terminate()
        }
        try? stdin.fileHandleForWriting.close()
        http.shutdown { _ in }
    }

    /// Sends a request to the emulator; returns the status and body.
    @discardableResult
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = nil
    ) async throws -> (status: Int, body: String) {
        let base: String
        if let socket = options.unixSocket {
            base = "http+unix://" + socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        } else {
            base = (options.tls != nil ? "https://" : "http://") + address
        }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "X-Consul-Token", value: token) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Switches faults on or off (`/_emulator/faults`): `fail_status` with `fail_count` (-1:
    /// until cleared), `delay` (seconds), `constant_index`, `refuse`.
    public func faults(_ json: String) async throws {
        try await control("/_emulator/faults", json)
    }

    /// Forgets every registration, as an agent restarted without its state.
    public func restart() async throws { try await control("/_emulator/restart") }

    /// Drops every index below what clients have seen.
    public func indexBackwards() async throws { try await control("/_emulator/index-backwards") }

    private func control(_ path: String, _ json: String = "{}") async throws {
        let (status, body) = try await request(.POST, path, body: json)
        guard status == 200 else { throw ServerProcesses.Unavailable("emulator \(path): \(status) \(body)") }
    }

    /// Requests served, by `METHOD path`.
    public func requestCounts() async throws -> [String: Int] {
        let (_, body) = try await request(.GET, "/_emulator/stats")
        struct Stats: Decodable { var requests: [String: Int] }
        return try JSONDecoder().decode(Stats.self, from: Data(body.utf8)).requests
    }

    /// The server name (SNI) of each TLS handshake, empty when the client sent none.
    public func serverNames() async throws -> [String] {
        let (_, body) = try await request(.GET, "/_emulator/stats")
        struct Stats: Decodable {
            var serverNames: [String]
            enum CodingKeys: String, CodingKey { case serverNames = "server_names" }
        }
        return try JSONDecoder().decode(Stats.self, from: Data(body.utf8)).serverNames
    }

    public func resetRequestCounts() async throws { try await control("/_emulator/stats/reset") }

    static let script: String = {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        return here.deletingLastPathComponent().appendingPathComponent("Emulators/consul_emulator.py")
            .path
    }()
}
