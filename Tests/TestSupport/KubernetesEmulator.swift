import Foundation
import NIOHTTP1

/// The Kubernetes API server emulator (Tests/Emulators/k8s_emulator.py): namespaces, Services and
/// EndpointSlices through the real REST paths, plus its fault switches. docs/kubernetes.md says
/// what it covers.
public final class KubernetesEmulator: Sendable {
    public struct Options: Sendable {
        /// The bearer token every request must carry (client certificates are accepted too).
        public var token: String?
        /// How many changes a watch from an old version can replay.
        public var history: Int?
        public var tls: EmulatorProcess.TLS?

        public init(token: String? = "emulator-token", history: Int? = nil, tls: EmulatorProcess.TLS? = nil) {
            self.token = token
            self.history = history
            self.tls = tls
        }

        /// TLS that asks every connection for a client certificate signed by the test CA, and
        /// the token from a request that has no certificate.
        public static func mutualTLS(_ certificates: TestCertificates, token: String = "emulator-token")
            -> Options
        {
            Options(
                token: token,
                tls: .init(
                    certificate: certificates.serverCertificate, key: certificates.serverKey,
                    clientCA: certificates.caFile, clientCertificate: certificates.clientCertificate,
                    clientKey: certificates.clientKey))
        }
    }

    /// One endpoint of a slice.
    public struct Endpoint: Sendable {
        public var address: String
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?
        public var pod: String?
        public var node: String?
        public var zone: String?

        public init(
            _ address: String, ready: Bool? = true, serving: Bool? = nil, terminating: Bool? = nil,
            pod: String? = nil, node: String? = nil, zone: String? = nil
        ) {
            self.address = address
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
            self.pod = pod
            self.node = node
            self.zone = zone
        }

        var json: [String: Any] {
            var conditions: [String: Any] = [:]
            if let ready { conditions["ready"] = ready }
            if let serving { conditions["serving"] = serving }
            if let terminating { conditions["terminating"] = terminating }
            var endpoint: [String: Any] = ["addresses": [address], "conditions": conditions]
            if let pod { endpoint["targetRef"] = ["kind": "Pod", "name": pod, "namespace": "default"] }
            if let node { endpoint["nodeName"] = node }
            if let zone { endpoint["zone"] = zone }
            return endpoint
        }
    }

    public let process: EmulatorProcess
    public let options: Options
    public var port: Int { process.port }
    public var address: String { process.address }

    /// Runs `body` with an emulator and stops it afterwards, whatever happens.
    public static func with<T>(
        _ options: Options = Options(), _ body: (KubernetesEmulator) async throws -> T
    ) async throws -> T {
        let emulator = try await KubernetesEmulator(options)
        defer { emulator.stop() }
        return try await body(emulator)
    }

    public init(_ options: Options = Options()) async throws {
        var arguments: [String] = []
        if let token = options.token { arguments += ["--token", token] }
        if let history = options.history { arguments += ["--history", "\(history)"] }
        self.options = options
        process = try await EmulatorProcess(script: "k8s_emulator.py", arguments: arguments, tls: options.tls)
    }

    public func stop() { process.stop() }

    /// Sends an API request with the emulator's token.
    @discardableResult
    public func request(_ method: HTTPMethod, _ path: String, json: Any? = nil) async throws -> (
        status: Int, body: String
    ) {
        var headers: [(String, String)] = []
        if let token = options.token { headers.append(("Authorization", "Bearer \(token)")) }
        let body = try json.map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self)
        }
        let answer = try await process.request(method, path, body: body, headers: headers)
        guard (200..<300).contains(answer.status) else {
            throw ServerProcesses.Unavailable(
                "k8s emulator: \(method) \(path): \(answer.status) \(answer.body)")
        }
        return answer
    }

    private static func slicesPath(_ namespace: String) -> String {
        "/apis/discovery.k8s.io/v1/namespaces/\(namespace)/endpointslices"
    }

    /// Creates a namespace.
    public func createNamespace(_ name: String) async throws {
        try await request(.POST, "/api/v1/namespaces", json: ["metadata": ["name": name]])
    }

    /// Creates a Service (its ports only name themselves; the slices carry the numbers).
    public func createService(_ name: String, namespace: String = "default", ports: [String] = ["http"])
        async throws
    {
        try await request(
            .POST, "/api/v1/namespaces/\(namespace)/services",
            json: ["metadata": ["name": name], "spec": ["ports": ports.map { ["name": $0, "port": 80] }]])
    }

    /// Creates or replaces an EndpointSlice of `service`; `ports` are (name, number) pairs.
    public func putSlice(
        _ name: String, service: String, namespace: String = "default", addressType: String = "IPv4",
        endpoints: [Endpoint], ports: [(String?, Int)] = [("http", 8080)]
    ) async throws {
        let body: [String: Any] = [
            "metadata": ["name": name, "labels": ["kubernetes.io/service-name": service]],
            "addressType": addressType,
            "endpoints": endpoints.map(\.json),
            "ports": ports.map { name, port -> [String: Any] in
                var entry: [String: Any] = ["port": port, "protocol": "TCP"]
                if let name { entry["name"] = name }
                return entry
            },
        ]
        let path = Self.slicesPath(namespace)
        let existing = try await process.request(
            .GET, "\(path)/\(name)", headers: options.token.map { [("Authorization", "Bearer \($0)")] } ?? [])
        if existing.status == 200 {
            try await request(.PUT, "\(path)/\(name)", json: body)
        } else {
            try await request(.POST, path, json: body)
        }
    }

    /// The names of the EndpointSlices in `namespace`.
    public func sliceNames(namespace: String = "default") async throws -> [String] {
        let (_, body) = try await request(.GET, Self.slicesPath(namespace))
        let list = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let items = list?["items"] as? [[String: Any]] ?? []
        return items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
    }

    public func deleteSlice(_ name: String, namespace: String = "default") async throws {
        try await request(.DELETE, "\(Self.slicesPath(namespace))/\(name)")
    }

    /// Forgets history: a watch from an older version answers 410.
    public func compact() async throws { try await process.control("/_emulator/compact") }

    /// Cuts every open watch stream mid-stream.
    public func dropWatches() async throws { try await process.control("/_emulator/watches/drop") }

    /// Refuses what the rules name (`[{"verb": "watch", "resource": "endpointslices"}]`).
    public func forbid(_ rulesJSON: String) async throws {
        try await process.control("/_emulator/forbid", "{\"rules\": \(rulesJSON)}")
    }

    /// Also `bookmark_interval` (seconds), `stall_watch`, `gone_as_status`.
    public func faults(_ json: String) async throws { try await process.faults(json) }

    /// Open watch streams, and the current resource version.
    public func watchCount() async throws -> Int {
        let (_, body) = try await process.request(.GET, "/_emulator/stats")
        let stats = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return stats?["watches"] as? Int ?? -1
    }
}
