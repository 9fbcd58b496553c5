import Foundation
import NIOHTTP1
import TestSupport
import Testing

/// Issue #29: every `watch -o json` line and `resolve -o json` says when the backend last
/// confirmed the set and whether it is kept through an error; `resolve --max-stale` exits 6 when
/// the backend cannot confirm it that recently. Over a real etcd member, the Consul emulator and
/// the file backend.
@Suite("Freshness: confirmed, stale and --max-stale", .serialized)
struct FreshnessTests {
    let env = ["NO_COLOR": "1"]

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// A JSON line as an object.
    func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// Seconds since the epoch of an RFC 3339 time with milliseconds, as sdctl writes them.
    func seconds(_ text: Any?) throws -> Double {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let string = try #require(text as? String)
        return try #require(formatter.date(from: string)).timeIntervalSince1970
    }

    /// Waits until at least `count` lines of `process` satisfy `predicate`; returns the last.
    func line(
        _ process: RunningProcess, count: Int, within timeout: Duration = .seconds(30),
        _ predicate: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        try await eventually(timeout, "\(count) matching lines") {
            process.lines.filter(predicate).count >= count
        }
        return process.lines.filter(predicate)[count - 1]
    }

    @Test("etcd: the set is stale from the member's stop, DEST stays rendered, and it clears when it is back")
    func etcdOutage() async throws {
        let directory = TemporaryDirectory("sdctl-fresh-etcd")
        defer { directory.remove() }
        let source = directory.path + "/t.mustache"
        let destination = directory.path + "/out.conf"
        try "{{#instances}}{{address}}\n{{/instances}}".write(
            toFile: source, atomically: true, encoding: .utf8)
        try await EtcdServers.with { servers in
            try await servers.etcdctl(["put", "/services/web/a", "10.0.0.9:80"])
            let watcher = try RunningProcess(
                RunningProcess.sdctl,
                [
                    "watch", "etcd://\(servers.endpoints)/services/web", "-o", "json", "--template",
                    "\(source):\(destination)",
                ],
                environment: env)
            let first = try object(try await line(watcher, count: 1) { $0.contains("10.0.0.9:80") })
            #expect(first["stale"] as? Bool == false)
            #expect(abs(try seconds(first["confirmed"]) - Date().timeIntervalSince1970) < 10)
            try await eventually(.seconds(10), "the render") { read(destination) == "10.0.0.9:80\n" }

            let beforeOutage = Date().timeIntervalSince1970
            servers.stop(member: servers.members[0].name)
            let failure = try object(try await line(watcher, count: 1) { $0.contains(#""error""#) })
            #expect(failure["stale"] as? Bool == true)
            let confirmed = try seconds(failure["confirmed"])
            #expect(confirmed >= beforeOutage - 1)
            #expect(confirmed <= Date().timeIntervalSince1970)
            // The last good set stays rendered: an outage is not an empty set.
            #expect(read(destination) == "10.0.0.9:80\n")

            try await servers.restart(member: servers.members[0].name)
            let recovered = try object(
                try await line(watcher, count: 2, within: .seconds(60)) { $0.contains(#""stale":false"#) })
            #expect((recovered["instances"] as? [Any])?.count == 1)
            #expect((recovered["added"] as? [Any])?.isEmpty == true)
            #expect(try seconds(recovered["confirmed"]) > confirmed)
            #expect(read(destination) == "10.0.0.9:80\n")
            watcher.signal(SIGTERM)
            _ = try await watcher.wait()
        }
    }

    @Test(
        "Consul emulator: failing answers make the set stale, in JSON and in text; the next answer clears it")
    func consulOutage() async throws {
        try await ConsulEmulator.with { emulator in
            let body = #"{"Name":"web","ID":"web-1","Address":"127.0.0.1","Port":8080}"#
            #expect(try await emulator.request(.PUT, "/v1/agent/service/register", body: body).status == 200)
            // Blocking queries of a second, so that the fault meets the next one soon.
            let target = "consul://\(emulator.address)/web?wait=1s"
            let json = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "-o", "json"], environment: env)
            let text = try RunningProcess(
                RunningProcess.sdctl, ["watch", target, "--plain"], environment: env)
            let first = try object(try await line(json, count: 1) { $0.contains("127.0.0.1:8080") })
            #expect(first["stale"] as? Bool == false)
            try await text.line(within: .seconds(30)) { $0 == "  127.0.0.1:8080" }

            try await emulator.faults(#"{"fail_status":500,"fail_count":-1}"#)
            let failure = try object(try await line(json, count: 1) { $0.contains(#""error""#) })
            #expect(failure["stale"] as? Bool == true)
            #expect(failure["confirmed"] != nil)
            try await text.line(within: .seconds(30)) {
                $0.contains("error:") && $0.contains("(set kept; confirmed")
            }

            try await emulator.faults(#"{"fail_count":0}"#)
            let recovered = try object(try await line(json, count: 2) { $0.contains(#""stale":false"#) })
            #expect((recovered["instances"] as? [Any])?.count == 1)
            try await text.line(within: .seconds(30)) { $0.contains("confirmed again  (1 instance)") }
            for process in [json, text] {
                process.signal(SIGTERM)
                _ = try await process.wait()
            }
        }
    }

    @Test("resolve --max-stale: a Consul follower 30 s behind its leader is too stale for 10s, fine for 1m")
    func maxStale() async throws {
        try await ConsulEmulator.with { emulator in
            let body = #"{"Name":"web","ID":"web-1","Address":"127.0.0.1","Port":8080}"#
            #expect(try await emulator.request(.PUT, "/v1/agent/service/register", body: body).status == 200)
            try await emulator.followerLastContact(milliseconds: 30_000)
            let stale = "consul://\(emulator.address)/web?stale"

            let tooStale = try await runSDCTL(
                ["resolve", stale, "--max-stale", "10s", "-o", "json"], environment: env)
            #expect(tooStale.status == 6, "\(tooStale.stderr)")
            #expect(
                tooStale.stderr.contains("confirmed 30s ago, more than --max-stale 10s"), "\(tooStale.stderr)"
            )
            // The set is printed all the same, with when it was confirmed.
            let answer = try object(try #require(tooStale.lines.first))
            let age = Date().timeIntervalSince1970 - (try seconds(answer["confirmed"]))
            #expect(age >= 30 && age < 40, "\(age)")
            #expect(answer["stale"] as? Bool == false)
            #expect((answer["instances"] as? [Any])?.count == 1)

            let fine = try await runSDCTL(["resolve", stale, "--max-stale", "1m"], environment: env)
            #expect(fine.status == 0, "\(fine.stderr)")
            #expect(fine.lines == ["127.0.0.1:8080"])
            // Read from the leader (no ?stale), the same set is current.
            let leader = try await runSDCTL(
                ["resolve", "consul://\(emulator.address)/web", "--max-stale", "1s"], environment: env)
            #expect(leader.status == 0, "\(leader.stderr)")
            // Several targets: each says its own; the stale one fails the run.
            let several = try await runSDCTL(
                ["resolve", stale, "consul://\(emulator.address)/web", "--max-stale", "10s", "-o", "json"],
                environment: env)
            #expect(several.status == 6, "\(several.stderr)")
            let groups = try #require(
                try JSONSerialization.jsonObject(with: Data(several.lines.joined().utf8)) as? [[String: Any]])
            #expect(groups.map { $0["stale"] as? Bool } == [false, false])
            #expect(groups.allSatisfy { $0["confirmed"] != nil })
        }
    }

    @Test(
        "file backend: resolve -o json is an object with confirmed, stale and instances; watch lines say it too"
    )
    func fileBackend() async throws {
        try await withSDCTLHome("sdctl-fresh-file") { _, env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:9501"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let resolved = try await runSDCTL(
                ["resolve", "web", "-o", "json", "--max-stale", "5s"], environment: env)
            #expect(resolved.status == 0, "\(resolved.stderr)")
            let answer = try object(try #require(resolved.lines.first))
            #expect(answer.keys.sorted() == ["confirmed", "instances", "stale"])
            #expect(answer["stale"] as? Bool == false)
            #expect(abs(try seconds(answer["confirmed"]) - Date().timeIntervalSince1970) < 10)
            for arguments in [["--max-stale", "soon"], ["--max-stale", "5s", "--probe", "tcp"]] {
                let refused = try await runSDCTL(["resolve", "web"] + arguments, environment: env)
                #expect(refused.status == 2, "\(arguments)")
                #expect(refused.stderr.contains("--max-stale"), "\(refused.stderr)")
                #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            }
            let watched = try await runSDCTL(
                ["watch", "web", "-o", "json", "--count", "1"], environment: env)
            let line = try object(try #require(watched.lines.first))
            #expect(line["stale"] as? Bool == false)
            #expect(line["confirmed"] != nil)
            registrar.signal(SIGTERM)
            _ = try await registrar.wait()
        }
    }
}
