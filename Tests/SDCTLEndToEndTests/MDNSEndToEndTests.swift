import Foundation
import Synchronization
import TestSupport
import Testing

/// sdctl on `mdns://` targets, on a link of the test's own (``MDNSLink``: two network
/// namespaces joined by veth), against itself, python-zeroconf and Avahi.
@Suite("sdctl end to end, on multicast DNS", .serialized)
struct MDNSEndToEndTests {
    let environment = ["NO_COLOR": "1", "SDCTL_HOME": "/nonexistent"]
    let target = "mdns://_http._tcp.local"
    static let zeroconf = Repository.root + "/Tests/Peers/zeroconf/peer.py"

    private func json(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test(
        "register announces, resolve and watch on the other host see it with its TXT pairs; SIGTERM's goodbye removes it in about a second"
    )
    func registerWatchGoodbye() async throws {
        try await MDNSLink.with { link in
            let registrar = try link.start(
                on: .a,
                ["register", target, "\(MDNSLink.addressA):8080", "--id", "web one", "--meta", "path=/api"],
                environment: environment)
            try await registrar.line(within: .seconds(20)) { $0 == "web one" }

            let resolved = try await link.run(
                on: .b, ["resolve", target + "?resolve=a", "-o", "json"], environment: environment)
            #expect(resolved.status == 0, "\(resolved.stderr)")
            let text = resolved.lines.joined()
            #expect(text.contains(#""address":"10.99.0.1:8080""#), "\(text)")
            #expect(text.contains(#""id":"web one""#) && text.contains(#""path":"/api""#), "\(text)")
            #expect(text.contains(#""target":"web-one.local""#), "\(text)")
            let byName = try await link.run(on: .b, ["resolve", target], environment: environment)
            #expect(byName.lines == ["web-one.local:8080"], "\(byName.stderr)")

            let watcher = try link.start(on: .b, ["watch", target], environment: environment)
            try await watcher.line(within: .seconds(20)) { $0.contains("web-one.local:8080") }
            registrar.signal(SIGTERM)
            let signalled = ContinuousClock.now
            #expect(try await registrar.wait(timeout: .seconds(20)) == 0)
            try await watcher.line(within: .seconds(10)) { $0.contains("-web-one.local:8080") }
            let removal = ContinuousClock.now - signalled
            // RFC 6762 section 10.1: a goodbye ends the record one second after it arrives.
            #expect(removal >= .milliseconds(900) && removal < .seconds(5), "\(removal)")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("a SIGKILLed registrar says no goodbye: its instance ends when its TTL (--ttl 3s) runs out")
    func killedRegistrarExpires() async throws {
        try await MDNSLink.with { link in
            let watcher = try link.start(on: .b, ["watch", target], environment: environment)
            try await watcher.line(within: .seconds(20)) { $0.contains("0 instances") }
            let registrar = try link.start(
                on: .a, ["register", target, "\(MDNSLink.addressA):8080", "--id", "doomed", "--ttl", "3s"],
                environment: environment)
            try await registrar.line(within: .seconds(20)) { $0 == "doomed" }
            try await watcher.line(within: .seconds(20)) { $0.contains("+doomed.local:8080") }
            registrar.signal(SIGKILL)
            let killed = ContinuousClock.now
            _ = try await registrar.wait()
            try await watcher.line(within: .seconds(20)) { $0.contains("-doomed.local:8080") }
            let gone = ContinuousClock.now - killed
            #expect(gone >= .seconds(1) && gone < .seconds(10), "\(gone)")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test("python-zeroconf browses and resolves sdctl's registration, and hears its goodbye")
    func zeroconfSeesSDCTL() async throws {
        try await MDNSLink.with { link in
            let browser = try link.start(
                on: .b, program: PythonClients.python, [Self.zeroconf, "browse", "_http._tcp.local"])
            try await browser.line(within: .seconds(30)) { $0.contains(#""browsing""#) }
            let registrar = try link.start(
                on: .a,
                ["register", target, "\(MDNSLink.addressA):8080", "--id", "web one", "--meta", "path=/api"],
                environment: environment)
            try await registrar.line(within: .seconds(20)) { $0 == "web one" }
            let added = try await browser.line(within: .seconds(20)) { $0.contains(#""event": "add""#) }
            let event = try json(added)
            #expect(event["name"] as? String == "web one._http._tcp.local.")
            #expect(event["port"] as? Int == 8080)
            #expect(event["server"] as? String == "web-one.local.")
            #expect((event["addresses"] as? [String])?.contains("10.99.0.1") == true, "\(added)")
            #expect((event["properties"] as? [String: String?])?["path"] == "/api", "\(added)")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait(timeout: .seconds(20)) == 0)
            try await browser.line(within: .seconds(10)) { $0.contains(#""event": "remove""#) }
            browser.signal(SIGTERM)
            _ = try await browser.wait()
        }
    }

    @Test("sdctl sees python-zeroconf's registration with its TXT pairs, and its removal")
    func sdctlSeesZeroconf() async throws {
        try await MDNSLink.with { link in
            let peer = try link.start(
                on: .a, program: PythonClients.python,
                [
                    Self.zeroconf, "register", "_http._tcp.local", "Zero Conf", "9090", MDNSLink.addressA,
                    "path=/z",
                ])
            try await peer.line(within: .seconds(30)) { $0.contains(#""registered""#) }
            let resolved = try await link.run(
                on: .b, ["resolve", target + "?resolve=any", "-o", "json"], environment: environment)
            #expect(resolved.status == 0, "\(resolved.stderr)")
            let text = resolved.lines.joined()
            #expect(text.contains(#""address":"10.99.0.1:9090""#), "\(text)")
            #expect(text.contains(#""id":"Zero Conf""#) && text.contains(#""path":"/z""#), "\(text)")

            let watcher = try link.start(on: .b, ["watch", target], environment: environment)
            try await watcher.line(within: .seconds(20)) { $0.contains("zeroconf-peer.local:9090") }
            peer.signal(SIGTERM)
            try await watcher.line(within: .seconds(10)) { $0.contains("-zeroconf-peer.local:9090") }
            _ = try await peer.wait()
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test(
        "a name python-zeroconf holds: register probes, finds the conflict, renames to 'web (2)' and says so")
    func conflictRenames() async throws {
        try await MDNSLink.with { link in
            let peer = try link.start(
                on: .a, program: PythonClients.python,
                [Self.zeroconf, "register", "_http._tcp.local", "web", "9090", MDNSLink.addressA])
            try await peer.line(within: .seconds(30)) { $0.contains(#""registered""#) }
            let registrar = try link.start(
                on: .b, ["register", target, "\(MDNSLink.addressB):8080", "--id", "web"],
                environment: environment)
            let printed = try await registrar.line(within: .seconds(20)) { !$0.isEmpty }
            #expect(printed == "web (2)")
            try await eventually(.seconds(10), "the rename in the log") {
                registrar.stderr.contains("renamed")
            }
            let resolved = try await link.run(
                on: .b, ["resolve", target, "-o", "json"], environment: environment)
            let text = resolved.lines.joined()
            #expect(text.contains(#""id":"web""#) && text.contains(#""id":"web (2)""#), "\(text)")
            registrar.signal(SIGTERM)
            peer.signal(SIGTERM)
            _ = try await registrar.wait()
            _ = try await peer.wait()
        }
    }

    @Test(
        "Avahi: sdctl watches avahi-publish-service's service come and go, and avahi-browse resolves sdctl's registration"
    )
    func avahiBothWays() async throws {
        try await MDNSLink.with { link in
            try await AvahiPeer.with(on: .a, of: link) { avahi in
                let watcher = try link.start(on: .b, ["watch", target], environment: environment)
                let published = try await avahi.publish(
                    name: "Avahi Web", type: "_http._tcp", port: 7070, txt: ["path=/a"])
                try await watcher.line(within: .seconds(20)) { $0.contains("avahi-peer.local:7070") }
                let resolved = try await link.run(
                    on: .b, ["resolve", target + "?resolve=a", "-o", "json", "-v"], environment: environment)
                #expect(resolved.status == 0, "\(resolved.stderr)")
                let text = resolved.lines.joined()
                #expect(text.contains(#""address":"10.99.0.1:7070""#), "\(text)")
                #expect(text.contains(#""id":"Avahi Web""#) && text.contains(#""path":"/a""#), "\(text)")
                #expect(text.contains(#""target":"avahi-peer.local""#), "\(text)")

                let registrar = try link.start(
                    on: .b,
                    ["register", target, "\(MDNSLink.addressB):8080", "--id", "sd web", "--meta", "k=v"],
                    environment: environment)
                try await registrar.line(within: .seconds(20)) { $0 == "sd web" }
                let entries = Mutex<[String]>([])
                try await eventually(.seconds(30), "avahi-browse resolving sd web") {
                    let browsed = try await avahi.browse(type: "_http._tcp")
                    entries.withLock { $0 = browsed }
                    return browsed.contains { $0.contains("sd\\032web") && $0.contains(";IPv4;") }
                }
                let entry = try #require(
                    entries.withLock { $0 }.first { $0.contains("sd\\032web") && $0.contains(";IPv4;") })
                let fields = entry.split(separator: ";", omittingEmptySubsequences: false)
                #expect(fields.count >= 10, "\(entry)")
                #expect(
                    fields[6] == "sd-web.local" && fields[7] == "10.99.0.2" && fields[8] == "8080", "\(entry)"
                )
                #expect(fields[9] == "\"k=v\"", "\(entry)")
                registrar.signal(SIGTERM)
                #expect(try await registrar.wait(timeout: .seconds(20)) == 0)

                // SIGKILL: Foundation's Process starts children with its thread's signals blocked,
                // SIGTERM among them. The daemon withdraws the service (with goodbyes) when its
                // client's bus connection ends.
                published.signal(SIGKILL)
                try await watcher.line(within: .seconds(10)) { $0.contains("-avahi-peer.local:7070") }
                watcher.signal(SIGTERM)
                _ = try await watcher.wait()
            }
        }
    }

    @Test(
        "over IPv6 alone (no IPv4 address on the link): register and resolve, link-local addresses with their zone"
    )
    func ipv6Only() async throws {
        try await MDNSLink.with(ipv4: false) { link in
            let address = try link.linkLocalAddress(.a)
            let registrar = try link.start(
                on: .a, ["register", target, "[\(address)]:8080", "--id", "six"], environment: environment)
            try await registrar.line(within: .seconds(20)) { $0 == "six" }
            let resolved = try await link.run(
                on: .b, ["resolve", target + "?resolve=aaaa"], environment: environment)
            #expect(resolved.status == 0, "\(resolved.stderr)")
            #expect(resolved.lines == ["[\(address)%\(link.interface)]:8080"], "\(resolved.stderr)")
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait(timeout: .seconds(20)) == 0)
        }
    }

    @Test(
        "watch --exec runs on every change of an mDNS set, and --compare holds mdns:// against another target"
    )
    func execAndCompare() async throws {
        try await MDNSLink.with { link in
            let home = TemporaryDirectory("sdctl-mdns-exec")
            defer { home.remove() }
            let log = home.path + "/changes"
            try #"echo "$SDCTL_INSTANCES $(cat)" >> "#.appending(log)
                .write(toFile: home.path + "/handler.sh", atomically: true, encoding: .utf8)
            let watcher = try link.start(
                on: .b, ["watch", target, "--exec", "sh \(home.path)/handler.sh"], environment: environment)
            let registrar = try link.start(
                on: .a, ["register", target, "\(MDNSLink.addressA):8080", "--id", "exec"],
                environment: environment)
            try await registrar.line(within: .seconds(20)) { $0 == "exec" }
            try await eventually(.seconds(20), "the --exec run for the registration") {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("exec.local:8080")
            }
            // Names against addresses: the same registration, two views, one difference each way.
            let compared = try await link.run(
                on: .b, ["resolve", target, target + "?resolve=a", "--compare"], environment: environment)
            #expect(compared.status == 4, "\(compared.stderr)")
            #expect(
                compared.lines.contains { $0.hasPrefix("exec.local:8080  in \(target)") }, "\(compared.lines)"
            )
            let same = try await link.run(
                on: .b, ["resolve", target, target + "?settle=2s", "--compare"], environment: environment)
            #expect(same.status == 0, "\(same.lines) \(same.stderr)")
            registrar.signal(SIGTERM)
            _ = try await registrar.wait()
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test(
        "bench propagation on the link: each name claimed (probed) before its timed round, goodbyes seen a second on"
    )
    func benchPropagation() async throws {
        try await MDNSLink.with { link in
            for query in ["", "?resolve=a"] {
                let bench = try await link.run(
                    on: .a, ["bench", "propagation", target + query, "--rounds", "4", "-o", "json"],
                    environment: environment)
                #expect(bench.status == 0, "\(query): \(bench.stderr)")
                let report = try json(try #require(bench.lines.last))
                let claim = try #require(report["claim"] as? [String: Any], "\(report)")
                let register = try #require(report["register"] as? [String: Any], "\(report)")
                let deregister = try #require(report["deregister"] as? [String: Any], "\(report)")
                #expect([claim, register, deregister].allSatisfy { $0["count"] as? Int == 4 })
                // Probing takes 0.5 s at least (three probes 250 ms apart); the announcement is
                // what register -> seen times.
                let claimed = try #require(claim["p50_ms"] as? Double)
                let announced = try #require(register["p50_ms"] as? Double)
                #expect(claimed >= 500 && announced < claimed, "\(report)")
                // A goodbye ends a record one second after it arrives (RFC 6762 section 10.1).
                let left = try #require(deregister["p50_ms"] as? Double)
                #expect(left >= 900, "\(report)")
            }
            let aaaa = try await link.run(
                on: .a, ["bench", "propagation", target + "?resolve=aaaa", "--rounds", "1"],
                environment: environment)
            #expect(aaaa.status == 2 && aaaa.stderr.contains("resolve=aaaa"), "\(aaaa.stderr)")
        }
    }

    @Test("the live view on a terminal shows an mDNS registration join and leave; resolve --probe reaches it")
    func liveViewAndProbe() async throws {
        try await MDNSLink.with { link in
            let home = TemporaryDirectory("sdctl-mdns-live")
            defer { home.remove() }
            // A TCP listener on host a for the probe; port 8082 there has none.
            let listener = try link.start(
                on: .a, program: "/usr/bin/python3",
                [
                    "-c",
                    "import socket, time; s = socket.create_server(('\(MDNSLink.addressA)', 8081)); print('ready', flush=True); time.sleep(600)",
                ])
            try await listener.line(within: .seconds(20)) { $0 == "ready" }
            let open = try link.start(
                on: .a, ["register", target, "\(MDNSLink.addressA):8081", "--id", "open"],
                environment: environment)
            try await open.line(within: .seconds(20)) { $0 == "open" }
            let closed = try link.start(
                on: .a, ["register", target, "\(MDNSLink.addressA):8082", "--id", "closed"],
                environment: environment)
            try await closed.line(within: .seconds(20)) { $0 == "closed" }

            let probed = try await link.run(
                on: .b, ["resolve", target + "?resolve=a", "--probe", "tcp", "-o", "json"],
                environment: environment)
            let array = try #require(
                try JSONSerialization.jsonObject(with: Data(probed.lines.joined().utf8)) as? [[String: Any]],
                "\(probed.lines) \(probed.stderr)")
            let probes = Dictionary(
                uniqueKeysWithValues: array.compactMap { entry in
                    (entry["address"] as? String).map { ($0, entry["probe"] as? [String: Any] ?? [:]) }
                })
            #expect(probes["10.99.0.1:8081"]?["reachable"] as? Bool == true, "\(array)")
            #expect(probes["10.99.0.1:8082"]?["reachable"] as? Bool == false, "\(array)")

            let command =
                "NO_COLOR=1 SDCTL_HOME=/nonexistent ip netns exec \(link.namespaceB) \(RunningProcess.sdctl) watch \(target); "
                + "echo exit=$? > \(home.path)/status; sleep 60"
            try await TmuxSession.with(command: command) { terminal in
                let table = try await terminal.waitForScreen(within: .seconds(20), "the table") {
                    $0.contains("open.local:8081")
                }
                #expect(table[0].contains("mdns") && table[0].contains("2 instances"), "\(table)")
                #expect(table.contains { $0.contains("closed.local:8082") }, "\(table)")
                closed.signal(SIGTERM)
                #expect(try await closed.wait(timeout: .seconds(20)) == 0)
                try await terminal.waitForScreen(within: .seconds(20), "the leave") {
                    $0.hasPrefix("- closed.local:8082") && $0.contains("left")
                }
                try await terminal.sendKeys("q")
                try await eventually(.seconds(10), "sdctl watch to exit") {
                    FileManager.default.fileExists(atPath: home.path + "/status")
                }
                #expect(try String(contentsOfFile: home.path + "/status", encoding: .utf8) == "exit=0\n")
            }
            open.signal(SIGTERM)
            _ = try await open.wait()
            listener.signal(SIGKILL)
            _ = try await listener.wait()
        }
    }

    @Test(
        "a peer flooding the link with 5000 instances: the cache stops at its bound, says so once, keeps its memory, and recovers when they expire"
    )
    func flood() async throws {
        try await MDNSLink.with { link in
            // A bound of 100 instances, 400 records.
            var bounded = environment
            bounded["SDCTL_MAX_INSTANCES"] = "100"
            let watcher = try link.start(on: .b, ["watch", target, "-o", "json"], environment: bounded)
            try await watcher.line(within: .seconds(20)) { $0.contains(#""instances":[]"#) }
            let flooder = try link.start(
                on: .a, program: "/usr/bin/python3",
                [Repository.root + "/Tests/Peers/mdns-flood/flood.py", "5000", "4", MDNSLink.addressA])
            #expect(try await flooder.wait(timeout: .seconds(60)) == 0, "\(flooder.stderr)")
            try await watcher.line(within: .seconds(20)) { $0.contains("more than 400 mDNS records") }
            let resident = try #require(residentKilobytes(of: watcher.pid), "the watcher's VmRSS")
            #expect(resident < 100_000, "\(resident) kB resident")
            // TTL 4 s: the cache empties, and a set comes again after the error, empty.
            try await eventually(.seconds(30), "an empty set after the flood's error") {
                let lines = watcher.lines
                guard let error = lines.firstIndex(where: { $0.contains("more than 400 mDNS records") })
                else {
                    return false
                }
                return lines[(error + 1)...].contains {
                    $0.contains(#""instances":[]"#) && !$0.contains("error")
                }
            }
            let errors = watcher.lines.filter { $0.contains("more than 400 mDNS records") }
            #expect(errors.count == 1, "one failure event per flood, not per packet: \(errors.count)")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait(timeout: .seconds(20))
        }
    }

    /// The resident set size of a process (its `VmRSS`, kB); `nil` once it is gone.
    private func residentKilobytes(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            return nil
        }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap {
            Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
    }

    @Test("bad targets, deregister and a missing interface are one-line errors with their exit codes")
    func usage() async throws {
        for arguments in [
            ["resolve", "mdns://_http._tcp.example.com"], ["resolve", "mdns://http.local"],
            ["resolve", "mdns://_http._xyz.local"], ["resolve", "mdns://_http._tcp.local?bogus=1"],
            ["resolve", "mdns://_http._tcp.local?settle=0s"],
            ["deregister", "mdns://_http._tcp.local", "web"],
            ["register", "mdns://_http._tcp.local", "127.0.0.1:0", "--id", "x"],
        ] {
            let result = try await runSDCTL(arguments, environment: environment)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        let missing = try await runSDCTL(
            ["resolve", "mdns://_http._tcp.local?interface=nosuch0", "--timeout", "5s"],
            environment: environment)
        #expect(missing.status != 0 && missing.status != 124, "\(missing.stderr)")
        #expect(missing.stderr.contains("no network interface nosuch0"), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }
}
