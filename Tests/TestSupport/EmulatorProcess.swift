import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One of the API emulators in Tests/Emulators (Python's standard library only) running on a
/// free loopback port or a Unix socket, with the control endpoints they share: fault switches,
/// request counts, the TLS server names seen. It ends with the test process that started it.
public final class EmulatorProcess: Sendable {
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
    public let tls: TLS?
    public let unixSocket: String?
    private let name: String
    private let process: Process
    private let stdin: Pipe
    private let http: HTTPClient

    /// `127.0.0.1:port`.
    public var address: String { "127.0.0.1:\(port)" }

    /// `http://127.0.0.1:port`, `https://...` or `unix:///path`.
    public var url: String {
        if let path = unixSocket { return "unix://\(path)" }
        return (tls != nil ? "https://" : "http://") + address
    }

    /// Starts `Tests/Emulators/<script>` with `arguments` beyond the shared ones.
    public init(script: String, arguments: [String], tls: TLS? = nil, unixSocket: String? = nil) async throws
    {
        var all = [Self.directory + "/" + script, "--port", "0"] + arguments
        if let tls {
            all += ["--tls-cert", tls.certificate, "--tls-key", tls.key]
            if let ca = tls.clientCA { all += ["--tls-client-ca", ca] }
        }
        if let unixSocket { all += ["--unix", unixSocket] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PythonClients.systemPython)
        process.arguments = PythonClients.systemPython == "/usr/bin/env" ? ["python3"] + all : all
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        // The first line says where it listens; read off the cooperative pool (it blocks).
        let line: String = try await offPool {
            var bytes: [UInt8] = []
            while true {
                let byte = stdout.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte.first == 0x0A { break }
                bytes.append(byte.first!)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        guard line.hasPrefix("listening ") else {
            process.terminate()
            throw ServerProcesses.Unavailable("the emulator \(script) did not start: '\(line)'")
        }
        self.port = unixSocket == nil ? Int(line.split(separator: " ")[1]) ?? 0 : 0
        self.name = script
        self.tls = tls
        self.unixSocket = unixSocket
        self.process = process
        self.stdin = stdin
        var configuration = HTTPClient.Configuration(certificateVerification: .none)
        if let tls, let certificate = tls.clientCertificate, let key = tls.clientKey {
            configuration.tlsConfiguration?.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate)
                .map { .certificate($0) }
            configuration.tlsConfiguration?.privateKey = .privateKey(
                try NIOSSLPrivateKey(file: key, format: .pem))
        }
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    deinit { stop() }

    /// Stops the emulator. Idempotent.
    public func stop() {
        if process.isRunning { process.terminate() }
        try? stdin.fileHandleForWriting.close()
        http.shutdown { _ in }
    }

    /// Sends a request to the emulator; returns the status and body.
    @discardableResult
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [(String, String)] = []
    ) async throws -> (status: Int, body: String) {
        let base: String
        if let unixSocket {
            base = "http+unix://" + unixSocket.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        } else {
            base = (tls != nil ? "https://" : "http://") + address
        }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Posts to one of the emulator's control endpoints (`/_emulator/...`).
    public func control(_ path: String, _ json: String = "{}") async throws {
        let (status, body) = try await request(.POST, path, body: json)
        guard status == 200 else { throw ServerProcesses.Unavailable("\(name) \(path): \(status) \(body)") }
    }

    /// Switches faults on or off (`/_emulator/faults`): `fail_status` with `fail_count` (-1:
    /// until cleared), `delay` (seconds), `refuse`, and each emulator's own.
    public func faults(_ json: String) async throws {
        try await control("/_emulator/faults", json)
    }

    /// Requests served, by `METHOD path`.
    public func requestCounts() async throws -> [String: Int] {
        try await stats().requests
    }

    /// The server name (SNI) of each TLS handshake, empty when the client sent none.
    public func serverNames() async throws -> [String] {
        try await stats().serverNames
    }

    public func resetRequestCounts() async throws { try await control("/_emulator/stats/reset") }

    private struct Stats: Decodable {
        var requests: [String: Int]
        var serverNames: [String]
        enum CodingKeys: String, CodingKey {
            case requests
            case serverNames = "server_names"
        }
    }

    private func stats() async throws -> Stats {
        let (_, body) = try await request(.GET, "/_emulator/stats")
        return try JSONDecoder().decode(Stats.self, from: Data(body.utf8))
    }

    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Emulators").path
    }()
}
