import ConsulDiscovery
import DNSDiscovery
import Discovery
import EurekaDiscovery
import FileDiscovery
import KubernetesDiscovery
import Testing

@testable import SDCTLKit

@Suite("Target URLs")
struct TargetTests {
    let environment = ["SDCTL_HOME": "/var/sd"]

    func parse(_ text: String) throws(CLIError) -> Target {
        try Target(parsing: text, environment: environment)
    }

    @Test("bare names and file URLs are the file backend")
    func file() throws {
        #expect(
            try parse("web").backend as? FileBackend
                == FileBackend(directory: FileServiceDirectory(path: "/var/sd/web")))
        #expect(
            try parse("file:///srv/discovery/web").backend as? FileBackend
                == FileBackend(directory: FileServiceDirectory(path: "/srv/discovery/web")))
        #expect(
            try parse("file:///srv/discovery/web/").backend as? FileBackend
                == FileBackend(directory: FileServiceDirectory(path: "/srv/discovery/web"))
        )
    }

    @Test("the default build has every backend; each description names its own implementation's schemes")
    func traits() {
        #expect(BackendDescription.built.count == BackendDescription.all.count)
        for description in BackendDescription.all {
            let implementation = description.implementation
            #expect(implementation?.schemes == description.schemes, "\(description.name)")
            #expect(
                (description.trait == nil) == (description.name == "file"),
                "only the file backend is always built")
        }
    }

    @Test("the event loops start only for a target of a built-in backend that runs on them")
    func eventLoopDecision() {
        for arguments in [
            ["resolve", "etcd://h:2379/x/"], ["watch", "web", "CONSUL://h/web"],
            ["resolve", "srv:///_x._tcp.a", "eureka://h/APP"],
        ] {
            #expect(BackendDescription.needsEventLoops(arguments: arguments), "\(arguments)")
        }
        for arguments in [
            ["resolve", "web"], ["resolve", "zk://h:2181/x"], ["resolve", "file:///tmp/web"], ["--version"],
            ["register", "web", "10.0.0.1:80", "--", "curl", "http://x"], ["resolve", "://x"],
            // DNS: `resolve` asks on threads of its own, a watch's queries gain nothing from them.
            ["resolve", "srv:///_x._tcp.a"],
        ] {
            #expect(!BackendDescription.needsEventLoops(arguments: arguments), "\(arguments)")
        }
    }

    @Test("read-only backends take no registrations: the command says so")
    func readOnly() throws {
        let srv = try parse("srv:///_x._tcp.example.test")
        let error = #expect(throws: CLIError.self) { try srv.backend.registering() }
        #expect(
            error?.message == "DNS is read-only: srv:// targets can be resolved and watched, not registered")
        #expect(throws: Never.self) { try srv.backend.changeMaking() }
        #expect(throws: Never.self) { try parse("web").backend.registering() }
    }

    @Test("in a build without a backend's trait, its scheme says so (exit 2); unknown schemes list the rest")
    func leftOut() {
        let fileOnly: [any DiscoveryBackend.Type] = [FileBackend.self]
        let leftOut = #expect(throws: CLIError.self) {
            try Target(parsing: "etcds://127.0.0.1:2379/web/", environment: environment, backends: fileOnly)
        }
        #expect(leftOut?.exitCode == .usage)
        #expect(
            leftOut?.message
                == "invalid target 'etcds://127.0.0.1:2379/web/': this sdctl was built without the etcds:// "
                + "backend, package trait Etcd; bash .ci/install builds every backend (see 'sdctl --help')")
        let unknown = #expect(throws: CLIError.self) {
            try Target(parsing: "gopher://h/web", environment: environment, backends: fileOnly)
        }
        #expect(
            unknown?.message
                == "invalid target 'gopher://h/web': unknown scheme 'gopher' (known: file) (see 'sdctl --help')"
        )
    }

    @Test("every other scheme is parsed and validated")
    func others() throws {
        #expect(
            try parse("zk://h1:2181,h2/services/web").backend as? ZooKeeperBackend
                == ZooKeeperBackend(
                    hosts: [HostPort(host: "h1", port: 2181), HostPort(host: "h2", port: 2181)],
                    path: "/services/web"))
        #expect(
            try parse("etcds://[::1]:2379/services/web/").backend as? EtcdBackend
                == EtcdBackend(
                    endpoints: [HostPort(host: "::1", port: 2379)], prefix: "/services/web/", tls: true))
        #expect(
            try parse("consul://127.0.0.1/web?tag=prod&tag=eu&passing&dc=dc1").backend as? ConsulBackend
                == ConsulBackend(
                    agent: HostPort(host: "127.0.0.1", port: 8500),
                    query: ConsulHealthQuery(service: "web", tags: ["prod", "eu"], datacenter: "dc1"),
                    tls: false))
        #expect(
            try parse("eureka://h:8761/eureka/apps/web").backend as? EurekaBackend
                == EurekaBackend(
                    server: HostPort(host: "h", port: 8761), basePath: "/eureka", app: "WEB", tls: false)
        )
        #expect(
            try parse("srv:///_http._tcp.web.example.com").backend as? SRVBackend
                == SRVBackend(server: nil, name: "_http._tcp.web.example.com"))
        #expect(
            try parse("srv://127.0.0.1:5353/_http._tcp.web.example.com.").backend as? SRVBackend
                == SRVBackend(
                    server: HostPort(host: "127.0.0.1", port: 5353), name: "_http._tcp.web.example.com."))
    }

    @Test("srv:// query parameters: resolve, min-interval, max-interval; SDCTL_RESOLV_CONF")
    func srvParameters() throws {
        var expected = SRVBackend(server: HostPort(host: "::1", port: 5353), name: "_x._tcp.example.test")
        expected.resolve = .any
        expected.minimumInterval = .milliseconds(250)
        expected.maximumInterval = .seconds(600)
        #expect(
            try parse("srv://[::1]:5353/_x._tcp.example.test?resolve=any&min-interval=250ms&max-interval=10m")
                .backend as? SRVBackend == expected)
        let configured = try Target(
            parsing: "srv:///_x._tcp.example.test",
            environment: ["SDCTL_RESOLV_CONF": "/tmp/resolv.conf", "RES_OPTIONS": "ndots:2", "HOME": "/root"])
        let backend = try #require(configured.backend as? SRVBackend)
        #expect(backend.resolvConf == "/tmp/resolv.conf")
        #expect(backend.environment == ["RES_OPTIONS": "ndots:2"])
    }

    @Test("eureka:// and consul:// query parameters; users in the URL, passwords from the environment")
    func httpBackendParameters() throws {
        let eureka = try #require(
            try Target(
                parsing:
                    "eurekas://admin@h:8443/eureka/v2/apps/web?status=UP,STARTING&secure&interval=5s&vip=web.v",
                environment: ["EUREKA_PASSWORD": "pw", "HOME": "/root"]
            ).backend as? EurekaBackend)
        #expect(eureka.basePath == "/eureka/v2" && eureka.app == "WEB" && eureka.tls && eureka.secure)
        #expect(
            eureka.statuses == [.up, .starting] && eureka.interval == .seconds(5)
                && eureka.vipAddress == "web.v")
        #expect(try eureka.configuration().username == "admin" && eureka.configuration().password == "pw")
        #expect(try (parse("eureka://h/apps/WEB").backend as? EurekaBackend)?.basePath == "")
        #expect(
            try (parse("eureka://h/eureka/apps/WEB?status=all").backend as? EurekaBackend)?.statuses == nil)
        #expect(throws: CLIError.self) {
            try Target(parsing: "eureka://h/eureka/apps/WEB", environment: ["EUREKA_PASSWORD": "pw"])
        }
        let consul = try #require(
            try parse(
                "consul:///web?stale&near=_agent&wait=1m&check-http=http://127.0.0.1:8080/health&deregister-after=never"
            )
            .backend as? ConsulBackend)
        #expect(
            consul.agent == nil && consul.query.stale && consul.query.near == "_agent"
                && consul.wait == .seconds(60))
        #expect(consul.check == .http("http://127.0.0.1:8080/health") && consul.deregisterAfter == nil)
        #expect(consul.query.passingOnly)
    }

    @Test("k8s:// and k8ss:// targets: the host's API server, or the cluster's from inside it")
    func kubernetes() throws {
        let plain = try #require(try parse("k8s://127.0.0.1/shop/web").backend as? KubernetesBackend)
        #expect(plain.configuration.server == .http(HostPort(host: "127.0.0.1", port: 8080)))
        #expect(plain.namespace == "shop" && plain.service == "web" && plain.selection == .init())
        let tls = try #require(
            try parse("k8ss://api.example.com/shop/web?port=grpc&include=serving").backend
                as? KubernetesBackend)
        #expect(tls.configuration.server == .https(HostPort(host: "api.example.com", port: 6443)))
        #expect(tls.selection == .init(port: .named("grpc"), include: .serving))
        #expect(
            try (parse("k8s://h:1/a/b?port=8443").backend as? KubernetesBackend)?.selection.port
                == .number(8443))
        let cluster = try #require(
            try Target(
                parsing: "k8s:///shop/web",
                environment: [
                    "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                    "SDCTL_K8S_SERVICE_ACCOUNT": "/sa",
                ]
            ).backend as? KubernetesBackend)
        #expect(cluster.configuration.server == .https(HostPort(host: "10.96.0.1", port: 443)))
        #expect(cluster.configuration.credentials == .tokenFile("/sa/token"))
        #expect(cluster.configuration.tls.caFile == "/sa/ca.crt")
        let badPort = #expect(throws: CLIError.self) {
            try Target(
                parsing: "k8s:///shop/web",
                environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"])
        }
        #expect(badPort?.exitCode == .usage)
    }

    @Test(
        "bad targets are usage errors",
        arguments: [
            "", ".web", "a/b", "web:80", "ftp://h/x", "file://host/x", "file:///", "file:///a/../b",
            "zk://h:2181",
            "zk://h:2181/", "zk://h:99999/x", "zk:///x", "zk://u:p@h/x", "etcd://h", "consul://h/",
            "consul://h/a/b",
            "consul://h/web?bogus=1", "consul://h/web?passing=maybe", "consul://a,b/web",
            "eureka://h/eureka/WEB", "eureka://u:p@h/eureka/apps/WEB",
            "eureka://h/eureka/apps/WEB?status=SLEEPING",
            "eureka://h/eureka/apps/WEB?interval=10ms", "eureka://h/eureka/apps/W%20B",
            "eureka://h/eureka/apps/",
            "consul://h/web?wait=20m", "consul://h/web?deregister-after=10s",
            "consul://h/web?check-tcp=nohost",
            "srv://h/web.example.com", "srv:///_http.example", "srv://h/_x._tcp.a?resolve=mx",
            "srv://h/_x._tcp.a?resolve", "srv://h/_x._tcp.a?min-interval=0s", "srv://h/_x._tcp.a?bogus=1",
            "srv://h/_x._tcp.a?min-interval=10s&max-interval=1s", "srv://a,b/_x._tcp.a",
            "zk://[::1/x", "zk://h/x#frag",
            "k8s://h/default", "k8s://h/default/web/x", "k8s://h/Default/web", "k8s://h/default/web_1",
            "k8s://h/default/web?port=0", "k8s://h/default/web?port=Http", "k8s://h/default/web?include=all",
            "k8s://h/default/web?bogus=1", "k8s:///default/web", "k8s://a,b/default/web",
        ])
    func invalid(text: String) {
        do {
            _ = try parse(text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.exitCode == .usage)
        }
    }

    @Test("each scheme belongs to exactly one backend, and an unknown one lists them all")
    func schemesAreUnique() {
        let schemes = Target.backends.flatMap { $0.schemes }
        #expect(Set(schemes).count == schemes.count)
        do {
            _ = try parse("nope://h/x")
            Issue.record("nope:// parsed")
        } catch {
            for scheme in schemes { #expect(error.message.contains(scheme)) }
        }
        for type in Target.backends {
            for scheme in type.schemes where scheme != "file" {
                #expect((try? parse("\(scheme)://h/x"))?.scheme ?? scheme == scheme)
            }
        }
    }
}
