import Discovery
import Foundation
import Testing

@testable import KubernetesDiscovery

/// The union of a Service's slices, without a server: ports, conditions, duplicates, limits.
@Suite("Kubernetes: EndpointSlice sets")
struct EndpointSliceSetTests {
    typealias Endpoint = EndpointSlice.Endpoint

    static func endpoint(
        _ address: String, ready: Bool? = true, serving: Bool? = nil, terminating: Bool? = nil,
        pod: String? = nil,
        zone: String? = nil
    ) -> Endpoint {
        Endpoint(
            addresses: [address],
            conditions: .init(ready: ready, serving: serving, terminating: terminating), hostname: nil,
            nodeName: "node-1", zone: zone,
            targetRef: pod.map { .init(kind: "Pod", name: $0, namespace: "default") })
    }

    static func slice(
        _ name: String, _ endpoints: [Endpoint],
        ports: [EndpointSlice.Port]? = [.init(name: "http", port: 8080)]
    ) -> EndpointSlice {
        EndpointSlice(
            metadata: .init(name: name, namespace: "default", resourceVersion: "1"), addressType: "IPv4",
            endpoints: endpoints, ports: ports)
    }

    static func set(
        _ slices: [EndpointSlice], port: KubernetesEndpointSelection.Port = .only,
        include: KubernetesEndpointSelection.Inclusion = .ready, maximum: Int = 1000
    ) -> EndpointSliceSet {
        var set = EndpointSliceSet(
            namespace: "default", service: "web", selection: .init(port: port, include: include),
            maximumInstances: maximum)
        set.replaceAll(slices)
        return set
    }

    @Test("the set is the union of every slice: 250 endpoints in three slices, sorted")
    func union() throws {
        let slices = (0..<3).map { index in
            Self.slice(
                "web-\(index)", (0..<(index == 2 ? 50 : 100)).map { Self.endpoint("10.\(index).0.\($0)") })
        }
        let instances = try Self.set(slices).instances()
        #expect(instances.count == 250)
        #expect(instances == instances.sorted())
        #expect(instances.allSatisfy { $0.address.hasSuffix(":8080") })
    }

    @Test("ready by default; serving adds terminating-but-serving; terminating adds every endpoint")
    func conditions() throws {
        let slice = Self.slice(
            "web-1",
            [
                Self.endpoint("10.0.0.1"),
                Self.endpoint("10.0.0.2", ready: nil),  // unset means ready
                Self.endpoint("10.0.0.3", ready: false, serving: true, terminating: true),
                Self.endpoint("10.0.0.4", ready: false, serving: false, terminating: true),
                Self.endpoint("10.0.0.5", ready: false),
            ])
        func addresses(_ include: KubernetesEndpointSelection.Inclusion) throws -> [String] {
            try Self.set([slice], include: include).instances().map(\.address)
        }
        #expect(try addresses(.ready) == ["10.0.0.1:8080", "10.0.0.2:8080"])
        #expect(try addresses(.serving) == ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"])
        #expect(try addresses(.terminating).count == 5)
        let terminating = try Self.set([slice], include: .terminating).instances()
        #expect(terminating.first { $0.address == "10.0.0.4:8080" }?.metadata["k8s.terminating"] == "true")
        #expect(terminating.first { $0.address == "10.0.0.4:8080" }?.metadata["k8s.ready"] == "false")
        #expect(terminating.first { $0.address == "10.0.0.1:8080" }?.metadata["k8s.ready"] == nil)
    }

    @Test("port by name, by number, or the only one; several without a choice is an error naming them")
    func ports() throws {
        let two: [EndpointSlice.Port] = [.init(name: "http", port: 8080), .init(name: "grpc", port: 9090)]
        let slice = Self.slice("web-1", [Self.endpoint("10.0.0.1")], ports: two)
        #expect(try Self.set([slice], port: .named("grpc")).instances().map(\.address) == ["10.0.0.1:9090"])
        #expect(try Self.set([slice], port: .number(8080)).instances().map(\.address) == ["10.0.0.1:8080"])
        #expect(try Self.set([slice], port: .number(7000)).instances().isEmpty)
        let several = #expect(throws: DiscoveryError.self) { try Self.set([slice]).instances() }
        #expect(several?.code == .invalidArgument)
        #expect(several?.message.contains("several ports (grpc, http)") == true)
        let unknown = #expect(throws: DiscoveryError.self) {
            try Self.set([slice], port: .named("admin")).instances()
        }
        #expect(unknown?.message.contains("no port named 'admin' (its ports: grpc, http)") == true)
        // A slice without ports serves every port: a number applies, nothing else can.
        let portless = Self.slice("web-2", [Self.endpoint("10.0.0.2")], ports: nil)
        #expect(try Self.set([portless], port: .number(53)).instances().map(\.address) == ["10.0.0.2:53"])
        #expect(throws: DiscoveryError.self) { try Self.set([portless]).instances() }
    }

    @Test("a named port may have a different number in each slice")
    func namedPortPerSlice() throws {
        let slices = [
            Self.slice("web-1", [Self.endpoint("10.0.0.1")], ports: [.init(name: "http", port: 8080)]),
            Self.slice("web-2", [Self.endpoint("10.0.0.2")], ports: [.init(name: "http", port: 8081)]),
        ]
        #expect(
            try Self.set(slices, port: .named("http")).instances().map(\.address) == [
                "10.0.0.1:8080", "10.0.0.2:8081",
            ])
        #expect(try Self.set(slices).instances().count == 2)
    }

    @Test("IPv6 addresses are bracketed; metadata carries node, pod and zone; the id is the pod")
    func addressesAndMetadata() throws {
        let slice = Self.slice("web-1", [Self.endpoint("fd00::1", pod: "web-abc", zone: "eu-1a")])
        let instance = try #require(try Self.set([slice]).instances().first)
        #expect(instance.address == "[fd00::1]:8080")
        #expect(instance.id == "web-abc")
        #expect(instance.zone == "eu-1a")
        #expect(instance.metadata["k8s.node"] == "node-1")
        #expect(instance.metadata["k8s.pod"] == "web-abc")
    }

    @Test("an address in two slices (one replacing the other) counts once, the ready copy kept")
    func duplicates() throws {
        let slices = [
            Self.slice("web-a", [Self.endpoint("10.0.0.1", ready: false)]),
            Self.slice("web-b", [Self.endpoint("10.0.0.1"), Self.endpoint("10.0.0.2")]),
        ]
        let instances = try Self.set(slices, include: .terminating).instances()
        #expect(instances.map(\.address) == ["10.0.0.1:8080", "10.0.0.2:8080"])
        #expect(instances[0].metadata["k8s.ready"] == nil)
    }

    @Test(
        "the revision moves when the set changes and only then, so the instancer publishes without comparing sets"
    )
    func revision() throws {
        var set = Self.set([Self.slice("web-1", [Self.endpoint("10.0.0.1")])])
        var revision = set.revision
        func changed(_ event: EndpointSliceEvent) -> Bool {
            set.apply(event)
            defer { revision = set.revision }
            return set.revision != revision
        }
        #expect(!changed(.modified(Self.slice("web-1", [Self.endpoint("10.0.0.1")]))), "the same slice again")
        #expect(changed(.added(Self.slice("web-2", [Self.endpoint("10.0.0.2")]))))
        // The same address in a second slice: the first slice's copy still wins.
        #expect(!changed(.added(Self.slice("web-3", [Self.endpoint("10.0.0.2")]))))
        #expect(!changed(.deleted(Self.slice("web-2", []))), "web-3 holds 10.0.0.2 as it was")
        #expect(changed(.modified(Self.slice("web-3", [Self.endpoint("10.0.0.2", ready: false)]))))
        #expect(!changed(.bookmark(resourceVersion: "7")))
        #expect(try set.instances().map(\.address) == ["10.0.0.1:8080"])
    }

    @Test("events replace, add and remove exactly the slice they name")
    func events() throws {
        var set = Self.set([Self.slice("web-1", [Self.endpoint("10.0.0.1")])])
        set.apply(.added(Self.slice("web-2", [Self.endpoint("10.0.0.2")])))
        #expect(try set.instances().count == 2)
        set.apply(.modified(Self.slice("web-1", [Self.endpoint("10.0.0.3")])))
        #expect(try set.instances().map(\.address) == ["10.0.0.2:8080", "10.0.0.3:8080"])
        set.apply(.deleted(Self.slice("web-2", [])))
        #expect(try set.instances().map(\.address) == ["10.0.0.3:8080"])
        set.apply(.bookmark(resourceVersion: "9"))
        #expect(set.sliceCount == 1)
    }

    @Test(
        "events applied one by one give what a fresh list of the same slices gives, and move the revision exactly when they change it (2,000 random events)"
    )
    func incrementalMatchesWhole() throws {
        var generator = SystemRandomNumberGenerator()
        for include in [KubernetesEndpointSelection.Inclusion.ready, .serving, .terminating] {
            var set = Self.set([], port: .named("http"), include: include)
            var current: [String: EndpointSlice] = [:]
            var previous = (revision: set.revision, instances: try set.instances())
            // The revision moves exactly when the instances change.
            func checkRevision() throws {
                let now = (revision: set.revision, instances: try set.instances())
                #expect((now.revision != previous.revision) == (now.instances != previous.instances))
                previous = now
            }
            for _ in 0..<2000 {
                let name = "web-\(Int.random(in: 0..<8, using: &generator))"
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    set.apply(.deleted(Self.slice(name, [])))
                    current[name] = nil
                    try checkRevision()
                    continue
                }
                // Addresses overlap between slices, as while one slice replaces another.
                let endpoints = (0..<Int.random(in: 0..<6, using: &generator)).map { _ in
                    Self.endpoint(
                        "10.0.0.\(Int.random(in: 0..<12, using: &generator))",
                        ready: Bool.random(using: &generator),
                        serving: Bool.random(using: &generator), terminating: Bool.random(using: &generator),
                        pod: "p\(Int.random(in: 0..<3, using: &generator))")
                }
                let ports: [EndpointSlice.Port] =
                    Bool.random(using: &generator)
                    ? [.init(name: "http", port: 8080)] : [.init(name: "http", port: 9090)]
                let slice = Self.slice(name, endpoints, ports: ports)
                set.apply(current[name] == nil ? .added(slice) : .modified(slice))
                current[name] = slice
                let whole = Self.set(Array(current.values), port: .named("http"), include: include)
                #expect(try set.instances() == whole.instances())
                try checkRevision()
            }
        }
    }

    @Test("unusable addresses are skipped; more instances than the limit is an error with its cause")
    func hostileSlices() throws {
        let slice = Self.slice(
            "web-1",
            [
                Endpoint(
                    addresses: [], conditions: nil, hostname: nil, nodeName: nil, zone: nil, targetRef: nil),
                Self.endpoint("bad\u{1B}[31mhost"), Self.endpoint("10.0.0.1"),
            ])
        #expect(try Self.set([slice]).instances().map(\.address) == ["10.0.0.1:8080"])
        let many = Self.slice("web-2", (0..<20).map { Self.endpoint("10.1.0.\($0)") })
        let error = #expect(throws: DiscoveryError.self) { try Self.set([many], maximum: 10).instances() }
        #expect(error?.cause is InstanceLimitExceeded)
        let port = Self.slice("web-3", [Self.endpoint("10.0.0.1")], ports: [.init(name: "http", port: 70000)])
        #expect(try Self.set([port]).instances().isEmpty)
    }
}
