import DNSDiscovery
import Discovery
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("resolv.conf")
struct DNSResolverConfigurationTests {
    @Test("nameservers in order (three at most), the last search or domain line, options")
    func parse() {
        let configuration = DNSResolverConfiguration(
            resolvConf: """
                # comment
                ; another
                nameserver 192.0.2.1
                nameserver 2001:db8::1   # trailing comment
                nameserver [127.0.0.1]:5353
                nameserver 192.0.2.4
                nameserver not-an-address
                domain first.example
                search a.example. b.example
                options timeout:1 attempts:3 ndots:2 rotate unknown-option
                sortlist 130.155.160.0/255.255.240.0
                """)
        #expect(
            configuration.servers == [
                HostPort(host: "192.0.2.1", port: 53), HostPort(host: "2001:db8::1", port: 53),
                HostPort(host: "127.0.0.1", port: 5353),
            ])
        #expect(configuration.search == ["a.example", "b.example"])
        #expect(configuration.timeout == .seconds(1))
        #expect(configuration.attempts == 3)
        #expect(configuration.ndots == 2)
        #expect(configuration.rotate)
    }

    @Test("defaults: 127.0.0.1, timeout 5, attempts 2, ndots 1; limits as glibc's")
    func defaultsAndLimits() {
        let empty = DNSResolverConfiguration(resolvConf: "")
        #expect(empty.servers == [HostPort(host: "127.0.0.1", port: 53)])
        #expect((empty.timeout, empty.attempts, empty.ndots, empty.rotate) == (.seconds(5), 2, 1, false))
        let clamped = DNSResolverConfiguration(resolvConf: "options timeout:99 attempts:9 ndots:40\n")
        #expect((clamped.timeout, clamped.attempts, clamped.ndots) == (.seconds(30), 5, 15))
    }

    @Test("RES_OPTIONS and LOCALDOMAIN override the file")
    func environment() {
        let configuration = DNSResolverConfiguration(
            resolvConf: "search file.example\noptions ndots:3\n",
            environment: ["RES_OPTIONS": "ndots:0 attempts:1", "LOCALDOMAIN": "env.example other.example"])
        #expect(configuration.ndots == 0)
        #expect(configuration.attempts == 1)
        #expect(configuration.search == ["env.example", "other.example"])
    }

    @Test(
        "candidates: ndots decides whether the name or the search list comes first; a final dot means as is")
    func candidates() {
        let configuration = DNSResolverConfiguration(
            servers: [], search: ["a.example", "b.example"], ndots: 2)
        #expect(
            configuration.candidates(for: "_x._tcp.web") == [
                "_x._tcp.web", "_x._tcp.web.a.example", "_x._tcp.web.b.example",
            ])
        #expect(
            configuration.candidates(for: "_x.web") == ["_x.web.a.example", "_x.web.b.example", "_x.web"])
        #expect(configuration.candidates(for: "_x._tcp.web.") == ["_x._tcp.web"])
    }

    @Test("a file the test writes; a missing file is an empty one; an unreadable one is an error")
    func file() throws {
        let directory = TemporaryDirectory("sdctl-resolv")
        defer { directory.remove() }
        let path = "\(directory.path)/resolv.conf"
        try "nameserver 192.0.2.9\noptions rotate\n".write(toFile: path)
        let configuration = try DNSResolverConfiguration.system(path: path)
        #expect(configuration.servers == [HostPort(host: "192.0.2.9", port: 53)])
        #expect(configuration.rotate)
        #expect(try DNSResolverConfiguration.system(path: "\(directory.path)/missing").servers.count == 1)
        #expect(throws: DiscoveryError.self) { try DNSResolverConfiguration.system(path: directory.path) }
    }

    @Test("rotate starts each query at the next server")
    func rotate() async throws {
        try await KnotServer.with(zones: ["example.test": TestZones.example]) { knot in
            try await KnotServer.with(zones: ["example.test": TestZones.example]) { other in
                let client = DNSClient(
                    configuration: DNSResolverConfiguration(
                        servers: [try HostPort(parsing: knot.address), try HostPort(parsing: other.address)],
                        rotate: true))
                var servers: [String] = []
                for _ in 0..<4 {
                    servers.append(try await client.query("_x._tcp.example.test", type: .srv).server)
                }
                #expect(servers == [knot.address, other.address, knot.address, other.address])
            }
        }
    }
}

extension String {
    func write(toFile path: String) throws {
        let file = fopen(path, "w")
        guard let file else { throw DiscoveryError(.io, "cannot write \(path)") }
        fputs(self, file)
        fclose(file)
    }
}
