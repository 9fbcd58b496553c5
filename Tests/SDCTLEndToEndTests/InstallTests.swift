import Foundation
import TestSupport
import Testing

/// `.ci/install` into a temporary PREFIX, with the sdctl the suite built (`--binary`: the
/// release build it would otherwise make takes minutes; the build line is the demo's).
@Suite("bash .ci/install and --uninstall")
struct InstallTests {
    static let repository = Repository.root

    static let installed = [
        "bin/sdctl",
        "share/man/man1/sdctl.1",
        "share/bash-completion/completions/sdctl",
        "share/zsh/site-functions/_sdctl",
        "share/fish/vendor_completions.d/sdctl.fish",
    ]

    func install(_ arguments: [String], home: String) async throws -> (
        status: Int32, lines: [String], stderr: String
    ) {
        let process = try RunningProcess(
            "/bin/bash", ["\(Self.repository)/.ci/install"] + arguments, environment: ["HOME": home])
        let status = try await process.wait(timeout: .seconds(60))
        return (status, process.lines, process.stderr)
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(
        "installs sdctl, its man page and three completions under PREFIX; --uninstall removes exactly those")
    func installAndUninstall() async throws {
        let home = TemporaryDirectory("sdctl-install")
        defer { home.remove() }
        let prefix = home.path + "/prefix"
        // Someone else's files in the same directories, which --uninstall must leave alone.
        let neighbours = ["bin/other", "share/man/man1/other.1", "share/zsh/site-functions/_other"]
        for neighbour in neighbours {
            try FileManager.default.createDirectory(
                atPath: prefix + "/" + (neighbour as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            #expect(
                FileManager.default.createFile(atPath: prefix + "/" + neighbour, contents: Data("x".utf8)))
        }

        let result = try await install(
            ["--prefix", prefix, "--binary", RunningProcess.sdctl], home: home.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        for file in Self.installed {
            #expect(FileManager.default.isReadableFile(atPath: prefix + "/" + file), "\(file) missing")
            #expect(result.lines.contains("installed \(prefix)/\(file)"))
        }
        #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/sdctl"))

        let version = try await RunningProcess(prefix + "/bin/sdctl", ["--version"], environment: [:])
        #expect(try await version.wait() == 0)
        #expect(version.lines.first?.hasPrefix("sdctl ") == true, "\(version.lines)")

        let committed = try #require(contents(Self.repository + "/docs/sdctl.1"))
        #expect(contents(prefix + "/share/man/man1/sdctl.1") == committed)
        #expect(
            contents(prefix + "/share/bash-completion/completions/sdctl")
                == contents(Self.repository + "/completions/sdctl.bash"))
        #expect(
            contents(prefix + "/share/zsh/site-functions/_sdctl")
                == contents(Self.repository + "/completions/_sdctl"))
        #expect(
            contents(prefix + "/share/fish/vendor_completions.d/sdctl.fish")
                == contents(Self.repository + "/completions/sdctl.fish"))

        let removed = try await install(["--uninstall"], home: home.path + "/elsewhere")
        #expect(removed.status == 0)
        #expect(removed.lines.isEmpty, "PREFIX defaults to HOME/.local, where nothing was installed")
        let uninstall = try await install(["--prefix", prefix, "--uninstall"], home: home.path)
        #expect(uninstall.status == 0, "stderr: \(uninstall.stderr)")
        for file in Self.installed {
            #expect(!FileManager.default.fileExists(atPath: prefix + "/" + file), "\(file) left behind")
            #expect(uninstall.lines.contains("removed \(prefix)/\(file)"))
        }
        for neighbour in neighbours {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + neighbour), "\(neighbour) removed")
        }
    }

    @Test("PREFIX defaults to HOME/.local; a bad argument or binary is one error line")
    func defaultsAndErrors() async throws {
        let home = TemporaryDirectory("sdctl-install")
        defer { home.remove() }
        let result = try await install(["--binary", RunningProcess.sdctl], home: home.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: home.path + "/.local/bin/sdctl"))

        let unknown = try await install(["--frobnicate"], home: home.path)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix(".ci/install: unknown argument '--frobnicate'\n"))
        let missing = try await install(["--binary", home.path + "/nothing"], home: home.path)
        #expect(missing.status == 1)
        #expect(missing.stderr == ".ci/install: '\(home.path)/nothing' is not an executable sdctl\n")
    }

    @Test("man -l renders the committed page without warnings")
    func manRenders() async throws {
        let page = Self.repository + "/docs/sdctl.1"
        let man = try RunningProcess(
            "/usr/bin/man", ["--warnings", "-l", page],
            environment: ["MANWIDTH": "100", "MANPAGER": "cat", "PAGER": "cat"])
        #expect(try await man.wait() == 0, "is man-db installed? .ci/run installs it")
        #expect(man.stderr.isEmpty, "\(man.stderr)")
        let text = man.lines.joined(separator: "\n")
        for expected in [
            "NAME", "sdctl - service discovery", "SYNOPSIS", "sdctl resolve TARGET", "--timeout DURATION",
            "EXIT STATUS", "ENVIRONMENT", "SDCTL_HOME", "sdctl bench balancer",
        ] {
            #expect(text.contains(expected), "\(expected) not in the rendered page")
        }
    }
}
