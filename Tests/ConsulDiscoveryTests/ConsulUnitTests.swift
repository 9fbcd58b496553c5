import Discovery
import DiscoveryHTTP
import Foundation
import Testing

@testable import ConsulDiscovery

@Suite("Consul: environment, decoding and index rules (no agent)")
struct ConsulUnitTests {
    typealias Configuration = ConsulClient.Configuration

    @Test("CONSUL_HTTP_ADDR in every form the CLI takes")
    func addresses() throws {
        #expect(try Configuration(environment: [:]).address == .http(HostPort(host: "127.0.0.1", port: 8500)))
        let cases: [(String, Configuration.Address)] = [
            ("10.0.0.1:8500", .http(HostPort(host: "10.0.0.1", port: 8500))),
            ("http://agent:8500/", .http(HostPort(host: "agent", port: 8500))),
            ("https://agent:8501", .https(HostPort(host: "agent", port: 8501))),
            ("https://agent", .https(HostPort(host: "agent", port: 443))),
            ("[::1]:8500", .http(HostPort(host: "::1", port: 8500))),
            ("unix:///run/consul.sock", .unix("/run/consul.sock")),
        ]
        for (text, expected) in cases {
            #expect(try Configuration(environment: ["CONSUL_HTTP_ADDR": text]).address == expected, "\(text)")
        }
        #expect(
            try Configuration(environment: ["CONSUL_HTTP_ADDR": "agent:8501", "CONSUL_HTTP_SSL": "true"])
                .address
                == .https(HostPort(host: "agent", port: 8501)))
        for bad in ["ftp://agent", "unix://relative.sock", "agent:99999", "::1:8500"] {
            #expect(throws: DiscoveryError.self, "\(bad)") {
                try Configuration(environment: ["CONSUL_HTTP_ADDR": bad])
            }
        }
    }

    @Test("the token file wins over CONSUL_HTTP_TOKEN, as in the CLI; TLS variables are read and checked")
    func tokensAndTLS() throws {
        let file = "/tmp/sdctl-consul-token-\(getpid())"
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        #expect(try Configuration(environment: ["CONSUL_HTTP_TOKEN": "t"]).token == "t")
        #expect(
            try Configuration(environment: ["CONSUL_HTTP_TOKEN": "t", "CONSUL_HTTP_TOKEN_FILE": file]).token
                == "from-file")
        #expect(throws: DiscoveryError.self) {
            try Configuration(environment: ["CONSUL_HTTP_TOKEN_FILE": "/nonexistent/token"])
        }
        let tls = try Configuration(environment: [
            "CONSUL_CACERT": "/ca.pem", "CONSUL_CLIENT_CERT": "/c.pem", "CONSUL_CLIENT_KEY": "/c.key",
            "CONSUL_TLS_SERVER_NAME": "consul.local", "CONSUL_HTTP_SSL_VERIFY": "false",
        ]).tls
        #expect(
            tls
                == .init(
                    caFile: "/ca.pem", certificateFile: "/c.pem", keyFile: "/c.key",
                    serverName: "consul.local", verify: false))
        #expect(throws: DiscoveryError.self) {
            try Configuration(environment: ["CONSUL_HTTP_SSL_VERIFY": "nope"])
        }
        #expect(throws: DiscoveryError.self) {
            try Configuration(environment: ["CONSUL_CLIENT_CERT": "/c.pem"])
        }
    }

    @Test("health entries: Service.Address else Node.Address, IPv6 in brackets, null lists, port 0 skipped")
    func decoding() throws {
        let json = """
            [
              {"Node": {"Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc1"},
               "Service": {"ID": "web-1", "Service": "web", "Tags": null, "Address": "", "Port": 80, "Meta": null,
                           "Weights": {"Passing": 3, "Warning": 1}},
               "Checks": null},
              {"Node": {"Node": "n2", "Address": "10.0.0.2", "Datacenter": "dc1"},
               "Service": {"ID": "web-2", "Service": "web", "Tags": ["prod"], "Address": "2001:db8::1", "Port": 81,
                           "Meta": {"version": "2"}},
               "Checks": [{"CheckID": "serfHealth", "Status": "passing", "ServiceID": ""},
                          {"CheckID": "service:web-2", "Status": "warning", "ServiceID": "web-2"}]},
              {"Node": {"Node": "n3", "Address": "10.0.0.3"}, "Service": {"ID": "web-3", "Port": 0}}
            ]
            """
        let entries = try JSONDecoder().decode([ConsulServiceEntry].self, from: Data(json.utf8))
        let first = try #require(entries[0].instance)
        #expect(first.address == "10.0.0.1:80")
        #expect(first.id == "web-1" && first.weight == 3 && first.zone == "dc1")
        #expect(
            first.metadata == [
                "consul.node": "n1", "consul.datacenter": "dc1", "consul.service": "web",
                "consul.weight.warning": "1",
            ])
        let second = try #require(entries[1].instance)
        #expect(second.address == "[2001:db8::1]:81")
        #expect(second.tags == ["prod"] && second.metadata["version"] == "2" && second.weight == nil)
        #expect(entries[0].isPassing && !entries[1].isPassing)
        #expect(entries[2].instance == nil)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode([ConsulServiceEntry].self, from: Data(#"[{"Node": {}}]"#.utf8))
        }
    }

    @Test("the index resets to 0 when it goes backwards and is never blocked on below 1")
    func indexRules() {
        #expect(BlockingIndex.next(after: 0, received: 7) == (7, false))
        #expect(BlockingIndex.next(after: 7, received: 7) == (7, false))
        #expect(BlockingIndex.next(after: 7, received: 9) == (9, false))
        #expect(BlockingIndex.next(after: 9, received: 3) == (0, true))
        #expect(BlockingIndex.next(after: 0, received: 0) == (1, false))
        #expect(BlockingIndex.next(after: 1, received: 0) == (0, true))
    }

    @Test("durations in Go's syntax, bodies in the agent's field names")
    func wireSpellings() throws {
        #expect(GoSyntax.duration(.seconds(10)) == "10s")
        #expect(GoSyntax.duration(.seconds(300)) == "5m")
        #expect(GoSyntax.duration(.milliseconds(1500)) == "1500ms")
        #expect(GoSyntax.duration(.microseconds(10)) == "1ms")
        let registration = ConsulServiceRegistration(
            id: "web-1", name: "web", address: "10.0.0.1", port: 80, tags: ["a"], meta: ["k": "v"], weight: 2,
            check: .ttl(.seconds(9)), initialStatus: "passing", deregisterCriticalServiceAfter: .seconds(60))
        let body = String(decoding: registration.body(), as: UTF8.self)
        #expect(
            body
                == #"{"Address":"10.0.0.1","Check":{"DeregisterCriticalServiceAfter":"1m","Status":"passing","TTL":"9s"},"ID":"web-1","Meta":{"k":"v"},"Name":"web","Port":80,"Tags":["a"],"Weights":{"Passing":2,"Warning":1}}"#
        )
        #expect(PercentEncoding.encode("a b/c:d") == "a%20b%2Fc%3Ad")
        #expect(Base64.encode(Array("user:pass".utf8)) == "dXNlcjpwYXNz")
        #expect(Base64.encode(Array("ab".utf8)) == "YWI=")
    }

    @Test("a registrar refuses meta keys the agent would refuse, and names itself from the address")
    func registrarChecks() throws {
        let client = try ConsulClient(Configuration())
        defer { client.close() }
        #expect(throws: DiscoveryError.self) {
            try ConsulRegistrar(
                client: client, service: "web",
                instance: Instance(address: "10.0.0.1:80", metadata: ["a.b": "c"]))
        }
        let registrar = try ConsulRegistrar(
            client: client, service: "web", instance: Instance(address: "[::1]:80"))
        #expect(registrar.instance.id == "web---1-80")
        #expect(registrar.registration.checkID == "service:web---1-80")
        #expect(registrar.keepInterval == .seconds(10) / 3)
    }
}
