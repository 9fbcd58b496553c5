import TestSupport
import Testing

/// Where sdctl's tasks run: on swift-nio's event loops for a target of a backend on them (so a
/// call and its connection share threads, docs/etcd.md), on Swift's default executor
/// otherwise. `-v` reports what a task actually ran on. swift-nio's own takeover found the
/// runtime's hook with dlsym, which a statically linked binary (the release build) hides, so
/// there it did nothing; sdctl now takes the hook's address from the linker in every build,
/// and this build's path is the release's.
@Suite("sdctl's global executor")
struct GlobalExecutorTests {
    @Test("a networked target's tasks run on the event loops; a file target's do not start them")
    func executor() async throws {
        let port = try FreePorts.take(1)[0]
        try await withSDCTLHome("sdctl-executor") { _, env in
            // Nobody listens on the port: the command fails, after the executor is logged.
            let networked = try await runSDCTL(
                ["resolve", "etcd://127.0.0.1:\(port)/x/", "-v", "--timeout", "2s"], environment: env)
            #expect(networked.status == 69, "\(networked.stderr)")
            #expect(
                networked.stderr.contains(
                    "executor=swift-nio's event loops (a task ran on an event loop)"), "\(networked.stderr)")

            let file = try await runSDCTL(["resolve", "web", "-v"], environment: env)
            #expect(file.status == 3, "\(file.stderr)")
            #expect(
                file.stderr.contains("executor=Swift's default (a task ran off the event loops)"),
                "\(file.stderr)")
        }
    }
}
