import Discovery
import KubernetesDiscovery
import TestSupport
import Testing

/// The instancer against the Kubernetes emulator (Tests/Emulators), started per test.
@Suite("Kubernetes: instancer against the emulator")
struct KubernetesInstancerTests {
    typealias Endpoint = KubernetesEmulator.Endpoint

    static func client(
        _ emulator: KubernetesEmulator, token: String? = "emulator-token", pageSize: Int = 500
    ) throws -> KubernetesClient {
        try KubernetesClient(
            .init(
                server: .http(HostPort(host: "127.0.0.1", port: UInt16(emulator.port))),
                credentials: token.map { .token($0) } ?? .none, pageSize: pageSize))
    }

    static func configuration(
        port: KubernetesEndpointSelection.Port = .only,
        include: KubernetesEndpointSelection.Inclusion = .ready,
        watchTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(30)
    ) -> KubernetesInstancer.Configuration {
        .init(
            selection: .init(port: port, include: include), watchTimeout: watchTimeout,
            idleTimeout: idleTimeout,
            errorBackoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)))
    }

    /// Runs `body` with an instancer of service `web` in `default`, stopped afterwards.
    static func withInstancer(
        _ emulator: KubernetesEmulator, _ configuration: KubernetesInstancer.Configuration = configuration(),
        pageSize: Int = 500, service: String = "web", namespace: String = "default",
        _ body: (KubernetesInstancer, InstanceSubscription) async throws -> Void
    ) async throws {
        let client = try client(emulator, pageSize: pageSize)
        defer { client.close() }
        let instancer = KubernetesInstancer(
            client: client, namespace: namespace, service: service, configuration: configuration)
        defer { instancer.stop() }
        try await body(instancer, instancer.subscribe())
    }

    /// Service `web` with one slice, `web-1`, of one ready endpoint, 10.0.0.1:8080.
    static func seed(_ emulator: KubernetesEmulator) async throws {
        try await emulator.createService("web")
        try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.1")])
    }

    static func addresses(_ prefix: String, _ range: Range<Int>, port: Int = 8080) -> [String] {
        range.map { "\(prefix).\($0):\(port)" }
    }

    @Test("the full set from a paginated list of several slices (250 endpoints, pages of 2 slices)")
    func listAcrossSlicesAndPages() async throws {
        try await KubernetesEmulator.with { emulator in
            try await emulator.createService("web")
            for index in 0..<5 {
                try await emulator.putSlice(
                    "web-\(index)", service: "web",
                    endpoints: (0..<50).map { Endpoint("10.0.\(index).\($0)") })
            }
            try await emulator.putSlice("api-0", service: "api", endpoints: [Endpoint("10.9.0.1")])
            try await Self.withInstancer(emulator, pageSize: 2) { _, subscription in
                let set = try await subscription.set(
                    (0..<5).flatMap { Self.addresses("10.0.\($0)", 0..<50) }, within: .seconds(20))
                #expect(set.count == 250)
            }
        }
    }

    @Test("added, modified and deleted slices are seen as they happen")
    func watchChanges() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            try await Self.withInstancer(emulator) { _, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                try await emulator.putSlice("web-2", service: "web", endpoints: [Endpoint("10.0.0.2")])
                try await subscription.set(["10.0.0.1:8080", "10.0.0.2:8080"])
                try await emulator.putSlice(
                    "web-1", service: "web",
                    endpoints: [Endpoint("10.0.0.1", ready: false), Endpoint("10.0.0.3")])
                try await subscription.set(["10.0.0.2:8080", "10.0.0.3:8080"])
                try await emulator.deleteSlice("web-2")
                try await subscription.set(["10.0.0.3:8080"])
            }
        }
    }

    @Test("a slice replaced by another (create the new, delete the old) never flickers")
    func sliceReplacement() async throws {
        try await KubernetesEmulator.with { emulator in
            try await emulator.createService("web")
            let endpoints = (0..<10).map { Endpoint("10.0.0.\($0)") }
            try await emulator.putSlice("web-old", service: "web", endpoints: endpoints)
            try await Self.withInstancer(emulator) { _, subscription in
                let all = Self.addresses("10.0.0", 0..<10)
                try await subscription.set(all)
                try await emulator.putSlice("web-new", service: "web", endpoints: endpoints)
                try await emulator.deleteSlice("web-old")
                try await emulator.putSlice(
                    "web-new", service: "web", endpoints: endpoints + [Endpoint("10.0.0.10")])
                // Every set up to the last change holds all ten.
                let last = try await subscription.first(within: .seconds(20), "the eleventh endpoint") {
                    event in
                    #expect(event.instances.map { Set(all).isSubset(of: $0.map(\.address)) } ?? true)
                    return event.instances?.count == 11
                }
                #expect(last.instances?.count == 11)
            }
        }
    }

    @Test("a watch cut off is opened again from where it was, without a relist")
    func droppedWatch() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            try await Self.withInstancer(emulator) { _, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                try await eventually(.seconds(20), "the watch open") { try await emulator.watchCount() == 1 }
                try await emulator.dropWatches()
                try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.2")])
                try await subscription.set(["10.0.0.2:8080"])
                let counts = try await emulator.process.requestCounts()
                #expect(counts["GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices"] ?? 0 >= 2)
            }
        }
    }

    @Test("a version too old (410 after a compaction) lists again and carries on")
    func expiredVersion() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            try await Self.withInstancer(emulator) { _, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                try await eventually(.seconds(20), "the watch open") { try await emulator.watchCount() == 1 }
                // Nothing reaches the open watch: only a relist can find what follows.
                try await emulator.faults(#"{"stall_watch": true}"#)
                try await emulator.compact()
                try await emulator.putSlice("web-2", service: "web", endpoints: [Endpoint("10.0.0.2")])
                try await emulator.dropWatches()
                // The instancer's version is older than the compaction: its next watch gets a 410.
                try await subscription.set(["10.0.0.1:8080", "10.0.0.2:8080"])
                try await emulator.faults(#"{"stall_watch": false}"#)
                try await emulator.putSlice("web-3", service: "web", endpoints: [Endpoint("10.0.0.3")])
                try await subscription.set(["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"])
            }
        }
    }

    @Test("bookmarks keep the version current, so a reconnect after unrelated churn is no relist")
    func bookmarks() async throws {
        try await KubernetesEmulator.with(.init(history: 5)) { emulator in
            try await emulator.faults(#"{"bookmark_interval": 0.1}"#)
            try await Self.seed(emulator)
            try await Self.withInstancer(emulator) { _, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                // Churn in another Service pushes the instancer's own last change out of history.
                for index in 0..<8 {
                    try await emulator.putSlice(
                        "api-\(index)", service: "api", endpoints: [Endpoint("10.9.0.1")])
                }
                try await Task.sleep(for: .milliseconds(500))  // several bookmark intervals
                try await emulator.process.resetRequestCounts()
                try await emulator.dropWatches()
                try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.2")])
                try await subscription.set(["10.0.0.2:8080"])
                let counts = try await emulator.process.requestCounts()
                // One watch request, and no list: lists and watches share the path, so no more than one.
                #expect(counts["GET /apis/discovery.k8s.io/v1/namespaces/default/endpointslices"] == 1)
            }
        }
    }

    @Test("a stalled stream is given up after the idle timeout, reported, and recovered")
    func stalledStream() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            let configuration = Self.configuration(idleTimeout: .milliseconds(500))
            try await Self.withInstancer(emulator, configuration) { instancer, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                try await emulator.faults(#"{"stall_watch": true}"#)
                let failure = try await subscription.first(within: .seconds(20), "the stall reported") {
                    $0.failure != nil
                }
                #expect(failure.failure?.code == .timedOut)
                #expect(instancer.instances?.map(\.address) == ["10.0.0.1:8080"], "the last good set is kept")
                try await emulator.faults(#"{"stall_watch": false}"#)
                try await emulator.putSlice("web-1", service: "web", endpoints: [Endpoint("10.0.0.2")])
                try await subscription.set(["10.0.0.2:8080"], within: .seconds(20))
            }
        }
    }

    @Test("a watch reopened after a failure, with nothing changed, sends the set again: no longer stale")
    func staleUntilReopened() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            try await Self.withInstancer(emulator) { instancer, subscription in
                try await subscription.set(["10.0.0.1:8080"])
                #expect(instancer.freshness?.isStale == false)
                try await eventually(.seconds(20), "the watch open") { try await emulator.watchCount() == 1 }
                // The watch ends, and opening it again fails until the fault is cleared.
                try await emulator.faults(#"{"fail_status": 500, "fail_count": -1}"#)
                try await emulator.dropWatches()
                _ = try await subscription.first(within: .seconds(20), "the failure") { $0.failure != nil }
                let stale = try #require(instancer.freshness)
                #expect(stale.isStale)
                try await emulator.faults(#"{"fail_count": 0}"#)
                // Nothing changed: only the reopened watch says the set is current again.
                try await subscription.set(["10.0.0.1:8080"], within: .seconds(20))
                #expect(instancer.freshness?.isStale == false)
                #expect(try #require(instancer.freshness).confirmed > stale.confirmed)
            }
        }
    }

    @Test("a 500 is reported as unavailable and retried")
    func serverError() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.seed(emulator)
            try await emulator.faults(#"{"fail_status": 500, "fail_count": 2}"#)
            try await Self.withInstancer(emulator) { _, subscription in
                let failure = try await subscription.first(within: .seconds(20), "the failure") {
                    $0.failure != nil
                }
                #expect(failure.failure?.code == .unavailable)
                #expect(
                    failure.failure?.message.hasPrefix("k8s: listing the EndpointSlices of service web")
                        == true)
                try await subscription.set(["10.0.0.1:8080"], within: .seconds(20))
            }
        }
    }

    @Test("a refused watch is permission denied, saying what was refused")
    func forbidden() async throws {
        try await KubernetesEmulator.with { emulator in
            try await emulator.createService("web")
            try await emulator.forbid(#"[{"verb": "watch", "resource": "endpointslices"}]"#)
            try await Self.withInstancer(emulator) { _, subscription in
                let failure = try await subscription.first(within: .seconds(20), "the refusal") {
                    $0.failure != nil
                }
                #expect(failure.failure?.code == .permissionDenied)
                #expect(
                    failure.failure?.message.contains(#"cannot watch resource "endpointslices""#) == true,
                    "\(failure.failure?.message ?? "")")
                #expect(failure.failure?.kubernetesStatus?.code == 403)
            }
        }
    }

    @Test("a wrong token is permission denied; the token is in no message")
    func wrongToken() async throws {
        try await KubernetesEmulator.with { emulator in
            let client = try Self.client(emulator, token: "s3cret-wrong")
            defer { client.close() }
            let instancer = KubernetesInstancer(client: client, namespace: "default", service: "web")
            defer { instancer.stop() }
            let failure = try await instancer.subscribe().first(within: .seconds(20), "the refusal") {
                $0.failure != nil
            }
            #expect(failure.failure?.code == .permissionDenied)
            #expect(failure.failure?.message.contains("s3cret") == false)
        }
    }

    @Test("an unknown Service is not found; one without endpoints is an empty set")
    func missingService() async throws {
        try await KubernetesEmulator.with { emulator in
            try await Self.withInstancer(emulator, service: "nosuch") { _, subscription in
                let failure = try await subscription.first(within: .seconds(20), "not found") {
                    $0.failure != nil
                }
                #expect(failure.failure?.code == .notFound)
                #expect(failure.failure?.message == "k8s: service nosuch not found in namespace default")
            }
            try await emulator.createService("empty")
            try await Self.withInstancer(emulator, service: "empty") { _, subscription in
                try await subscription.set([])
            }
        }
    }

    @Test("several ports without a choice is an error; the port option picks one")
    func portChoice() async throws {
        try await KubernetesEmulator.with { emulator in
            try await emulator.createService("web", ports: ["http", "grpc"])
            try await emulator.putSlice(
                "web-1", service: "web", endpoints: [Endpoint("10.0.0.1")],
                ports: [("http", 8080), ("grpc", 9090)])
            try await Self.withInstancer(emulator) { _, subscription in
                let failure = try await subscription.first(within: .seconds(20), "the error") {
                    $0.failure != nil
                }
                #expect(failure.failure?.code == .invalidArgument)
            }
            try await Self.withInstancer(emulator, Self.configuration(port: .named("grpc"))) {
                _, subscription in
                try await subscription.set(["10.0.0.1:9090"])
            }
        }
    }

    @Test("the API server unreachable is unavailable")
    func unreachable() async throws {
        let port = try FreePorts.take(1)[0]
        let client = try KubernetesClient(
            .init(server: .http(HostPort(host: "127.0.0.1", port: UInt16(port)))))
        defer { client.close() }
        let instancer = KubernetesInstancer(client: client, namespace: "default", service: "web")
        defer { instancer.stop() }
        let failure = try await instancer.subscribe().first(within: .seconds(20), "the failure") {
            $0.failure != nil
        }
        #expect(failure.failure?.code == .unavailable)
    }
}
