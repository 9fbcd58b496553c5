import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// `sdctl` on `eureka://` targets against the Eureka emulator, and py-eureka-client on the other
/// side.
@Suite("sdctl end to end, on Eureka", .serialized)
struct EurekaEndToEndTests {
    let env = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]

    /// py-eureka-client's own calls: registers PYAPP's `py-1` and renews it, cancels it, or
    /// prints every instance of the registry (read as XML, as the client reads it) as
    /// "APP id ip:port status" lines.
    static let pyEureka = """
        import asyncio, sys
        from py_eureka_client import eureka_basic as eureka
        server, action = sys.argv[1], sys.argv[2]
        async def main():
            if action == "register":
                instance = eureka.Instance(instanceId="py-1", app="PYAPP", ipAddr="127.0.0.3", hostName="py-host",
                                           port=eureka.PortWrapper(9100, True), vipAddress="pyapp", status="UP",
                                           dataCenterInfo=eureka.DataCenterInfo())
                await eureka.register(server, instance)
                await eureka.send_heartbeat(server, "PYAPP", "py-1", instance.lastDirtyTimestamp)
            elif action == "cancel":
                await eureka.cancel(server, "PYAPP", "py-1")
            else:
                apps = await eureka.get_applications(server)
                for app in apps.applications:
                    for i in app.instances:
                        print(app.name, i.instanceId, "%s:%d" % (i.ipAddr, i.port.port), i.status)
        asyncio.run(main())
        """

    func py(_ emulator: EurekaEmulator, _ action: String) async throws -> String {
        try await PythonClients.run(Self.pyEureka, arguments: ["http://\(emulator.address)/eureka", action])
    }

    @Test("py-eureka-client's registration is seen by sdctl watch; sdctl register's by py-eureka-client")
    func interop() async throws {
        try await EurekaEmulator.with { emulator in
            let base = "eureka://\(emulator.address)/eureka/apps"
            let watcher = try RunningProcess(
                RunningProcess.sdctl, ["watch", "\(base)/PYAPP?interval=1s", "-o", "json"], environment: env)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            _ = try await py(emulator, "register")
            try await watcher.line { $0.contains(#""added":[{"address":"127.0.0.3:9100","id":"py-1""#) }

            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "\(base)/WEB", "127.0.0.1:8080", "--meta", "version=2"],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "127.0.0.1:web:8080" }
            let seen = try await py(emulator, "list")
            #expect(seen.contains("WEB 127.0.0.1:web:8080 127.0.0.1:8080 UP"), "\(seen)")
            #expect(seen.contains("PYAPP py-1 127.0.0.3:9100 UP"), "\(seen)")
            let resolved = try await runSDCTL(["resolve", "\(base)/web", "-o", "json"], environment: env)
            #expect(resolved.lines.joined().contains(#""version":"2""#), "\(resolved.lines)")

            _ = try await py(emulator, "cancel")
            try await watcher.line { $0.contains(#""removed":[{"address":"127.0.0.3:9100""#) }
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            #expect(!(try await py(emulator, "list")).contains("WEB "))
            watcher.signal(SIGTERM)
        }
    }

    @Test("UP only unless ?status=; an unknown app exits 3; deregister by address")
    func statusesAndDeregister() async throws {
        try await EurekaEmulator.with { emulator in
            for (id, port, status) in [("a", 1, "UP"), ("b", 2, "STARTING"), ("c", 3, "DOWN")] {
                let body = """
                    {"instance": {"instanceId": "\(id)", "hostName": "h", "app": "WEB", "ipAddr": "127.0.0.1",
                     "status": "\(status)", "port": {"$": \(port), "@enabled": "true"},
                     "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}}}
                    """
                #expect(try await emulator.request(.POST, "/apps/WEB", body: body).status == 204)
            }
            let base = "eureka://\(emulator.address)/eureka/apps/WEB"
            #expect(try await runSDCTL(["resolve", base], environment: env).lines == ["127.0.0.1:1"])
            #expect(
                try await runSDCTL(["resolve", base + "?status=UP,STARTING"], environment: env).lines
                    == ["127.0.0.1:1", "127.0.0.1:2"])
            #expect(try await runSDCTL(["resolve", base + "?status=all"], environment: env).lines.count == 3)
            let removed = try await runSDCTL(["deregister", base, "127.0.0.1:2"], environment: env)
            #expect(removed.status == 0 && removed.lines == ["b"])
            let none = try await runSDCTL(
                ["resolve", "eureka://\(emulator.address)/eureka/apps/NOPE"], environment: env)
            #expect(none.status == 3, "\(none.stderr)")
            // A wrong base path is not an empty app: nothing answers there at all.
            let wrongBase = try await runSDCTL(
                ["resolve", "eureka://\(emulator.address)/eureka/v2/apps/WEB"], environment: env)
            #expect(
                wrongBase.status == 1 && wrongBase.stderr.contains("is the base path right?"),
                "\(wrongBase.stderr)")
            #expect(wrongBase.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("register --drain marks OUT_OF_SERVICE before removing")
    func drain() async throws {
        try await EurekaEmulator.with { emulator in
            let registrar = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "register", "eureka://\(emulator.address)/eureka/apps/WEB", "127.0.0.1:8081", "--drain",
                    "2s",
                ],
                environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "127.0.0.1:web:8081" }
            registrar.signal(SIGTERM)
            let clock = ContinuousClock()
            let started = clock.now
            var drained = false
            while !drained, clock.now - started < .seconds(5) {
                drained = try await emulator.request(.GET, "/apps/WEB").body.contains(
                    #""status": "OUT_OF_SERVICE""#)
                if !drained { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(drained)
            let status = try await registrar.wait()
            #expect(status == 0, "stderr: \(registrar.stderr)")
            #expect(clock.now - started >= .seconds(1.5))
            #expect(try await emulator.request(.GET, "/apps/WEB").status == 404)
        }
    }

    @Test(
        "401 is exit 77 and the password never shows; an unreachable server is 69; passwords in URLs are refused"
    )
    func failures() async throws {
        try await EurekaEmulator.with(.init(user: "admin", password: "s3cret-pw")) { emulator in
            let base = "eureka://\(emulator.address)/eureka/apps/WEB"
            let anonymous = try await runSDCTL(["resolve", base], environment: env)
            #expect(anonymous.status == 77, "\(anonymous.stderr)")
            #expect(anonymous.stderr.split(separator: "\n").count == 1)
            let directory = TemporaryDirectory("sdctl-eureka-password")
            defer { directory.remove() }
            try "s3cret-pw\n".write(toFile: "\(directory.path)/pw", atomically: true, encoding: .utf8)
            let allowed = env.merging(["EUREKA_PASSWORD_FILE": "\(directory.path)/pw"]) { $1 }
            let authenticated = "eureka://admin@\(emulator.address)/eureka/apps/WEB"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", authenticated, "127.0.0.1:8082", "-v"],
                environment: allowed)
            try await registrar.line(within: .seconds(20)) { $0 == "127.0.0.1:web:8082" }
            #expect(
                try await runSDCTL(["resolve", authenticated], environment: allowed).lines == [
                    "127.0.0.1:8082"
                ])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
            #expect(!registrar.stderr.contains("s3cret"), "\(registrar.stderr)")
            let inURL = try await runSDCTL(
                ["resolve", "eureka://admin:pw@\(emulator.address)/eureka/apps/WEB"], environment: env)
            #expect(inURL.status == 2 && inURL.stderr.contains("passwords never go in the URL"))
        }
        let port = try FreePorts.take(1)[0]
        let down = try await runSDCTL(
            ["resolve", "eureka://127.0.0.1:\(port)/eureka/apps/WEB"], environment: env)
        #expect(down.status == 69, "\(down.stderr)")
        #expect(down.stderr.contains("refused"), "\(down.stderr)")
    }

    @Test("a server that forgets every lease gets the registration back, and stderr says so once")
    func restart() async throws {
        try await EurekaEmulator.with { emulator in
            let target = "eureka://\(emulator.address)/eureka/apps/WEB"
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8083", "--ttl", "3s"], environment: env)
            try await registrar.line(within: .seconds(20)) { $0 == "127.0.0.1:web:8083" }
            try await emulator.restart()
            try await eventually(.seconds(10), "the re-registration on stderr") {
                registrar.stderr.contains("registered again")
            }
            #expect(registrar.stderr.split(separator: "\n").count == 1, "\(registrar.stderr)")
            #expect(try await runSDCTL(["resolve", target], environment: env).lines == ["127.0.0.1:8083"])
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("eurekas:// with a CA the test makes")
    func tls() async throws {
        let directory = TemporaryDirectory("sdctl-eureka-e2e-tls")
        defer { directory.remove() }
        let certificates = try await TestCertificates.make(in: directory.path)
        let options = EurekaEmulator.Options(
            tls: .init(certificate: certificates.serverCertificate, key: certificates.serverKey))
        try await EurekaEmulator.with(options) { emulator in
            let target = "eurekas://\(emulator.address)/eureka/apps/WEB"
            let trusting = env.merging(["EUREKA_CACERT": certificates.caFile]) { $1 }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", target, "127.0.0.1:8443"], environment: trusting)
            try await registrar.line(within: .seconds(20)) { $0 == "127.0.0.1:web:8443" }
            #expect(
                try await runSDCTL(["resolve", target], environment: trusting).lines == ["127.0.0.1:8443"])
            let distrusting = try await runSDCTL(
                ["resolve", target],
                environment: env.merging(["EUREKA_CACERT": certificates.otherCAFile]) { $1 })
            #expect(distrusting.status == 69, "\(distrusting.stderr)")
            #expect(distrusting.stderr.contains("TLS"), "\(distrusting.stderr)")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("bench propagation runs through the emulator with a 1 s poll")
    func benchPropagation() async throws {
        try await EurekaEmulator.with { emulator in
            let result = try await runSDCTL(
                [
                    "bench", "propagation", "eureka://\(emulator.address)/eureka/apps/BENCH?interval=1s",
                    "--rounds", "3",
                    "-o", "json",
                ],
                environment: env, timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.joined().contains(#""register":{"p50_ms":"#), "\(result.lines)")
            // Each change at a random point of the poll cycle, and the output says so.
            #expect(result.lines.joined().contains(#""poll_interval_ms":1000"#), "\(result.lines)")
        }
    }
}
