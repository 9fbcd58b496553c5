import AsyncHTTPClient
import Discovery
import FileDiscovery
import Foundation
import LoadBalancing
import NIOCore
import NIOHTTP1
import TestSupport
import Testing

/// The way docs/library.md calls a discovered HTTP service with async-http-client: base URLs
/// from a DefaultEndpointer, a balancer picking one per attempt, Retry moving to another
/// instance when an attempt fails (a connection refused, a 5xx answer).
@Suite("Calling a discovered HTTP service with async-http-client, a balancer and Retry")
struct HTTPThroughDiscoveryTests {
    /// A 5xx answer, thrown so that Retry tries another instance.
    struct ServerError: Error, Sendable {
        let status: UInt
    }

    /// The example itself: `GET path` on one of `instancer`'s instances.
    static func get(
        _ path: String, retry: Retry<RoundRobinBalancer<DefaultEndpointer<String>>>, http: HTTPClient
    ) async throws -> String {
        try await retry { base in
            let left = (RetryContext.deadline ?? .now + .seconds(5)) - .now
            let response = try await http.execute(
                HTTPClientRequest(url: base + path), timeout: .nanoseconds(Int64(left / .nanoseconds(1))))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code < 500 else { throw ServerError(status: response.status.code) }
            return String(buffer: body)
        }
    }

    @Test("one of two servers answers 503: every call succeeds on the other, and the failing one was tried")
    func oneFailing() async throws {
        let temporary = TemporaryDirectory("sdctl-http-example")
        defer { temporary.remove() }
        let ports = try FreePorts.take(2)
        let good = try Self.server(port: ports[0], status: 200, body: "good")
        let failing = try Self.server(port: ports[1], status: 503, body: "down")
        defer {
            good.signal(SIGKILL)
            failing.signal(SIGKILL)
        }
        for port in ports {
            try await eventually(.seconds(10), "the server on \(port) to listen") {
                TCPConnections.canConnect(toPort: port)
            }
        }

        let directory = FileServiceDirectory(path: temporary.path + "/web")
        let registrars = try ports.map {
            try FileRegistrar(directory: directory, instance: Instance(address: "127.0.0.1:\($0)"))
        }
        for registrar in registrars { try await registrar.register() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        try await instancer.subscribe().set(ports.map { "127.0.0.1:\($0)" }, within: .seconds(10))

        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let endpointer = DefaultEndpointer<String>(instancer: instancer) { ("http://\($0.address)", nil) }
        defer { endpointer.close() }
        let retry = Retry(RoundRobinBalancer(endpointer), maxAttempts: 3, timeout: .seconds(5))
        var answers: [String] = []
        for _ in 0..<10 { answers.append(try await Self.get("/name", retry: retry, http: http)) }
        try await http.shutdown()

        #expect(answers == Array(repeating: "good", count: 10))
        try await eventually(.seconds(5), "the failing server to have been asked") {
            failing.lines.contains { $0.hasPrefix("GET /name") }
        }
        for registrar in registrars { try await registrar.deregister() }
    }

    /// A real HTTP server (Python's http.server) answering every GET with `status` and `body`,
    /// printing each request line.
    static func server(port: Int, status: Int, body: String) throws -> RunningProcess {
        let script = """
            import http.server, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    print("GET " + self.path, flush=True)
                    payload = sys.argv[3].encode()
                    self.send_response(int(sys.argv[2]))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                def log_message(self, *arguments):
                    pass
            http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
            """
        return try RunningProcess(
            "/usr/bin/python3", ["-c", script, "\(port)", "\(status)", body], environment: [:])
    }
}
