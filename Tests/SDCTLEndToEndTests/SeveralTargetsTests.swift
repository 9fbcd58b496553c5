import Foundation
import TestSupport
import Testing

/// `resolve` with several TARGETs, and `--compare`: the same service in two places, as during a
/// migration from ZooKeeper to the file backend.
@Suite("sdctl resolve with several targets", .serialized)
struct SeveralTargetsTests {
    @Test("file and ZooKeeper: lines labelled by target; --compare prints the difference, exit 4")
    func fileAndZooKeeper() async throws {
        try await withSDCTLHome("sdctl-targets") { home, env in
            try await ZooKeeperServers.with { servers in
                let zk = "zk://\(servers.connectString)/services/web"
                var registrars: [RunningProcess] = []
                for (target, address) in [
                    ("web", "127.0.0.1:8001"), (zk, "127.0.0.1:8001"), ("web", "127.0.0.1:8002"),
                ] {
                    let registrar = try RunningProcess(
                        RunningProcess.sdctl, ["register", target, address], environment: env)
                    try await registrar.line(within: .seconds(20)) { !$0.isEmpty }
                    registrars.append(registrar)
                }
                let both = try await runSDCTL(["resolve", "web", zk], environment: env)
                #expect(both.status == 0, "\(both.stderr)")
                let width = zk.count
                #expect(
                    both.lines == [
                        "web".padding(toLength: width, withPad: " ", startingAt: 0) + "  127.0.0.1:8001",
                        "web".padding(toLength: width, withPad: " ", startingAt: 0) + "  127.0.0.1:8002",
                        "\(zk)  127.0.0.1:8001",
                    ])
                let json = try await runSDCTL(["resolve", "web", zk, "-o", "json"], environment: env)
                let groups = try #require(
                    try JSONSerialization.jsonObject(with: Data(json.lines.joined().utf8)) as? [[String: Any]]
                )
                #expect(groups.map { $0["target"] as? String } == ["web", zk])
                #expect(
                    (groups[1]["instances"] as? [[String: Any]])?.map { $0["address"] as? String } == [
                        "127.0.0.1:8001"
                    ])

                let differ = try await runSDCTL(["resolve", "web", zk, "--compare"], environment: env)
                #expect(differ.status == 4)
                #expect(differ.lines == ["127.0.0.1:8002  in web, not in \(zk)"])

                // The migration catches up: the same address in ZooKeeper too.
                let catchUp = try RunningProcess(
                    RunningProcess.sdctl, ["register", zk, "127.0.0.1:8002"], environment: env)
                try await catchUp.line(within: .seconds(20)) { !$0.isEmpty }
                registrars.append(catchUp)
                let same = try await runSDCTL(
                    ["resolve", "web", zk, "--compare", "-o", "json"], environment: env)
                #expect(same.status == 0, "\(same.stderr)")
                #expect(
                    same.lines.first?.hasPrefix(#"{"same":true,"differences":[]"#) == true, "\(same.lines)")

                for registrar in registrars { registrar.signal(SIGTERM) }
                for registrar in registrars { #expect(try await registrar.wait() == 0) }
            }
        }
    }

    @Test("an unreachable target: the others are printed, its reason is the one stderr line, exit 69")
    func oneUnreachable() async throws {
        try await withSDCTLHome("sdctl-targets-down") { home, env in
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:8001"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let port = try FreePorts.take(1)[0]
            let down = "zk://127.0.0.1:\(port)/services/web"
            let result = try await runSDCTL(["resolve", "web", down, "--timeout", "2s"], environment: env)
            #expect(result.status == 69, "\(result.stderr)")
            #expect(result.lines.count == 1 && result.lines[0].hasSuffix("  127.0.0.1:8001"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.hasPrefix("sdctl: \(down): "))
            let usage = try await runSDCTL(["resolve", "web", "--compare"], environment: env)
            #expect(usage.status == 2)
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }
}
