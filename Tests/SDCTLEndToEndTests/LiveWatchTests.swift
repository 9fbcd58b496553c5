import Foundation
import TestSupport
import Testing

/// `sdctl watch` on a real terminal (tmux): the full-screen table, updated in place.
@Suite("sdctl watch on a terminal")
struct LiveWatchTests {
    @Test("the table appears, a join shows up, q restores the screen and exits 0")
    func tableJoinQuit() async throws {
        try await withSDCTLHome("sdctl-live") { home, env in
            let first = try RunningProcess(
                RunningProcess.sdctl,
                ["register", "web", "127.0.0.1:9001", "--tag", "blue", "--meta", "zone=a"],
                environment: env)
            try await first.line { !$0.isEmpty }
            let command =
                "echo BEFORE-THE-WATCH; SDCTL_HOME=\(home.path) NO_COLOR=1 \(RunningProcess.sdctl) watch web; "
                + "echo exit=$? > \(home.path)/status; sleep 60"
            try await TmuxSession.with(command: command) { terminal in
                let table = try await terminal.waitForScreen("the table") { $0.contains("127.0.0.1:9001") }
                #expect(table[0].hasPrefix("sdctl watch  web (file)  1 instance"), "\(table)")
                #expect(table.contains { $0.contains("INSTANCE") && $0.contains("FLAPS") })
                #expect(table.contains("confirmed: now"), "a watch without errors is current: \(table)")
                #expect(table.contains { $0.contains("127.0.0.1:9001") && $0.hasSuffix("blue zone=a") })
                #expect(!table.contains("BEFORE-THE-WATCH"), "the alternate screen hides what was there")

                let second = try RunningProcess(
                    RunningProcess.sdctl, ["register", "web", "127.0.0.1:9002"], environment: env)
                try await second.line { !$0.isEmpty }
                let joined = try await terminal.waitForScreen("the join") { $0.hasPrefix("+ 127.0.0.1:9002") }
                #expect(
                    joined[0].contains("2 instances") && joined[0].contains("churn/min +1 -0"), "\(joined[0])"
                )
                second.signal(SIGTERM)
                #expect(try await second.wait() == 0)
                try await terminal.waitForScreen("the leave") {
                    $0.hasPrefix("- 127.0.0.1:9002") && $0.contains("left")
                }

                try await terminal.sendKeys("q")
                try await eventually(.seconds(10), "sdctl watch to exit") {
                    FileManager.default.fileExists(atPath: home.path + "/status")
                }
                #expect(try String(contentsOfFile: home.path + "/status", encoding: .utf8) == "exit=0\n")
                let restored = try await terminal.screen()
                #expect(restored.first == "BEFORE-THE-WATCH", "\(restored)")
                #expect(!restored.contains { $0.contains("INSTANCE") })
            }
            first.signal(SIGTERM)
            #expect(try await first.wait() == 0)
        }
    }

    @Test(
        "Ctrl-C leaves cleanly with exit 0; joins are green unless NO_COLOR is set", arguments: [false, true])
    func ctrlCAndColour(noColor: Bool) async throws {
        let home = TemporaryDirectory("sdctl-live-colour")
        defer { home.remove() }
        let env = ["SDCTL_HOME": home.path]
        let colour = noColor ? "NO_COLOR=1" : "NO_COLOR="
        let command =
            "SDCTL_HOME=\(home.path) \(colour) \(RunningProcess.sdctl) watch web; "
            + "echo exit=$? > \(home.path)/status; sleep 60"
        try await TmuxSession.with(command: command) { terminal in
            try await terminal.waitForScreen("the table") { $0.contains("INSTANCE") }
            let registrar = try RunningProcess(
                RunningProcess.sdctl, ["register", "web", "127.0.0.1:9003"], environment: env)
            try await registrar.line { !$0.isEmpty }
            let screen = try await terminal.waitForScreen("the join", escapes: true) {
                $0.contains("127.0.0.1:9003")
            }
            let row = screen.first { $0.contains("127.0.0.1:9003") }!
            #expect(row.contains("\u{1B}[32m") == !noColor, "\(row.debugDescription)")
            try await terminal.sendKeys("C-c")
            try await eventually(.seconds(10), "sdctl watch to exit") {
                FileManager.default.fileExists(atPath: home.path + "/status")
            }
            #expect(try String(contentsOfFile: home.path + "/status", encoding: .utf8) == "exit=0\n")
            #expect(!(try await terminal.screen()).contains { $0.contains("INSTANCE") })
            registrar.signal(SIGTERM)
            #expect(try await registrar.wait() == 0)
        }
    }

    @Test("on a terminal but with stdin from /dev/null (a script's & job): the line output")
    func notInteractive() async throws {
        try await withSDCTLHome("sdctl-live-stdin") { home, _ in
            let command =
                "SDCTL_HOME=\(home.path) NO_COLOR=1 \(RunningProcess.sdctl) watch web --count 1 < /dev/null; "
                + "echo exit=$? > \(home.path)/status; sleep 60"
            try await TmuxSession.with(command: command) { terminal in
                try await eventually(.seconds(10), "sdctl watch to exit") {
                    FileManager.default.fileExists(atPath: home.path + "/status")
                }
                #expect(try String(contentsOfFile: home.path + "/status", encoding: .utf8) == "exit=0\n")
                let screen = try await terminal.screen()
                #expect(screen.first?.hasSuffix("Z  0 instances") == true, "\(screen)")
                #expect(!screen.contains { $0.contains("INSTANCE") })
            }
        }
    }
}
