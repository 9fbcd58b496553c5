import Discovery
import FileDiscovery
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Registering processes killed with SIGKILL by the thousand, with the other core kept busy:
/// each must be gone from a watcher within 1 s. The kernel reports a dead process's close
/// before it drops its lock, which left entries listed until some later event.
/// `SDCTL_FILE_STRESS_ROUNDS` (default 100, 10 processes a round) makes it heavier.
@Suite("File backend under stress", .serialized)
struct FileStressTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["SDCTL_FILE_STRESS_ROUNDS"] ?? "") ?? 100

    @Test("thousands of SIGKILLed registrars each leave the watcher's set within 1 s")
    func killedRegistrarsLeave() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        try await subscription.set([])
        let busy = Atomic<Bool>(true)
        let spinner = Thread { while busy.load(ordering: .relaxed) {} }
        spinner.start()
        defer { busy.store(false, ordering: .relaxed) }
        var slowest: Duration = .zero
        for round in 0..<Self.rounds {
            let addresses = (1...10).map { "10.\(round / 250).\(round % 250).\($0):80" }
            let children = addresses.enumerated().map { index, address in
                spawnRegisteringChild(directory.path, id: "r\(round)-\(index)", address: address)
            }
            try await subscription.set(addresses, within: .seconds(10))
            for child in children { kill(child, SIGKILL) }
            for child in children {
                var status: Int32 = 0
                waitpid(child, &status, 0)
            }
            let killed = ContinuousClock.now
            try await subscription.set([], within: .seconds(1))
            slowest = max(slowest, ContinuousClock.now - killed)
        }
        print("file stress: \(Self.rounds * 10) registrars killed, slowest gone after \(slowest)")
    }

    @Test("stop() racing a retried start() never releases a suspended dispatch source")
    func stopRacesRetry() async throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<60 {
            let (directory, temp) = scratchDirectory()
            defer { temp.remove() }
            let instancer = FileInstancer(directory: directory)
            // Losing the directory makes the instancer retry its start after 25-50 ms.
            _ = try? FileManager.default.removeItem(atPath: directory.path)
            try await Task.sleep(for: .microseconds(Int.random(in: 20_000...60_000, using: &generator)))
            instancer.stop()
        }
    }
}
