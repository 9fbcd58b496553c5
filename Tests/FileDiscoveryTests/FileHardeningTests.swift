import Discovery
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import FileDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #23 items 2 to 4: the file backend never blocks without bound, trusts only its own
/// user's directory and regular files, and never loses a live registration to a stale-entry
/// removal.
@Suite("File backend under hostile input")
struct FileHardeningTests {
    /// A fresh service directory (0700, this user's) inside a temporary one.
    func withService(_ body: (FileServiceDirectory, String) async throws -> Void) async throws {
        let temp = TemporaryDirectory("sdctl-file-hardening")
        defer { temp.remove() }
        let path = temp.path + "/web"
        #expect(mkdir(path, 0o700) == 0)
        try await body(FileServiceDirectory(path: path), path)
    }

    /// A regular entry file that some process holds locked: what a live registration looks
    /// like. Returns its descriptor (close it to end the "registration").
    func liveEntry(_ path: String, address: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        let json =
            #"{"address":"\#(address)","id":"x","metadata":{},"pid":1,"registered_at":"2026-12-03T00:00:00.000Z","tags":[]}"#
        _ = json.withCString { write(fd, $0, strlen($0)) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd
    }

    @Test("a FIFO named like an entry neither hangs a read nor a watcher; it is skipped")
    func fifoEntry() async throws {
        try await withService { directory, path in
            #expect(mkfifo(path + "/x.instance", 0o644) == 0)
            let listed = try await finishes(within: .seconds(10), "liveInstances") {
                var skipped: [String] = []
                let instances = try directory.liveInstances { skipped.append($0.message) }
                return (instances.count, skipped)
            }
            let (count, skipped) = try #require(listed, "reading a directory with a FIFO never returned")
            #expect(count == 0)
            #expect(skipped.count == 1 && skipped[0].contains("not a regular file"), "\(skipped)")
            let built = try await finishes(within: .seconds(10), "FileInstancer") {
                let instancer = FileInstancer(directory: directory)
                defer { instancer.stop() }
                return instancer.instances
            }
            #expect(try #require(built, "FileInstancer never returned") == [])
            let removed = try await finishes(within: .seconds(10), "remove") {
                try directory.remove(idOrAddress: "127.0.0.1:1")
            }
            #expect(try #require(removed, "deregister never returned") == [])
        }
    }

    @Test("register next to another holder of .lock ends with its task, not when the lock is freed")
    func lockHeldElsewhere() async throws {
        try await withService { directory, path in
            let holder = open(path + "/.lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(holder >= 0 && flock(holder, LOCK_EX) == 0)
            defer { close(holder) }
            let registrar = try FileRegistrar(
                directory: directory, instance: Instance(address: "127.0.0.1:1"))
            let task = Task { try await registrar.register() }
            // The caller's timeout: what `register --timeout 1s` does.
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            // The lock is never freed here: before the fix, register waited for it for ever.
            let outcome = try await finishes(within: .seconds(30), "a cancelled register") {
                let done = DispatchSemaphore(value: 0)
                let failed = Mutex(false)
                Task.detached {
                    do { try await task.value } catch { failed.withLock { $0 = true } }
                    done.signal()
                }
                done.wait()
                return failed.withLock { $0 }
            }
            #expect(try #require(outcome, "register kept waiting for the lock") == true)
            #expect(try directory.liveInstances().isEmpty)
        }
    }

    @Test("HOME unset: the state directory comes from the password database, not /tmp")
    func homeFromPasswordDatabase() throws {
        let entry = try #require(getpwuid(geteuid()))
        let home = String(cString: entry.pointee.pw_dir)
        #expect(try FileServiceDirectory.home(environment: [:]) == home + "/.local/state/sdctl")
    }

    @Test("a directory writable by others, or owned by another user, is refused (permission denied)")
    func untrustedDirectory() async throws {
        try await withService { directory, path in
            #expect(chmod(path, 0o777) == 0)
            let registrar = try FileRegistrar(
                directory: directory, instance: Instance(address: "127.0.0.1:1"))
            await #expect(throws: DiscoveryError.self) { try await registrar.register() }
            do throws(DiscoveryError) {
                _ = try directory.liveInstances()
                Issue.record("a world-writable directory was read")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("writable by group or others"), "\(error.message)")
            }
            #expect(chmod(path, 0o755) == 0)
            #expect(try directory.liveInstances().isEmpty)
            // Another user's directory: needs root to make (CI runs as root).
            guard geteuid() == 0 else { return }
            #expect(chown(path, 65534, 65534) == 0)
            do throws(DiscoveryError) {
                _ = try directory.liveInstances()
                Issue.record("another user's directory was read")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("owned by uid 65534"), "\(error.message)")
            }
            let instancer = FileInstancer(directory: directory)
            defer { instancer.stop() }
            let event = try await instancer.subscribe().first { $0.failure != nil }
            #expect(event.failure?.code == .permissionDenied)
        }
    }

    @Test("a .lock symlink is never followed: its target is not created")
    func lockSymlink() async throws {
        try await withService { directory, path in
            let target = path + "-planted"
            #expect(symlink(target, path + "/.lock") == 0)
            let registrar = try FileRegistrar(
                directory: directory, instance: Instance(address: "127.0.0.1:1"))
            await #expect(throws: DiscoveryError.self) { try await registrar.register() }
            #expect(access(target, F_OK) != 0, "sdctl created the symlink's target")
        }
    }

    @Test("entries that are symlinks or another user's files are not listed, even when live")
    func untrustedEntries() async throws {
        try await withService { directory, path in
            let elsewhere = TemporaryDirectory("sdctl-file-elsewhere")
            defer { elsewhere.remove() }
            let planted = try liveEntry(elsewhere.path + "/real.instance", address: "10.6.6.6:66")
            defer { close(planted) }
            #expect(symlink(elsewhere.path + "/real.instance", path + "/evil.instance") == 0)
            let own = try liveEntry(path + "/own.instance", address: "10.0.0.1:80")
            defer { close(own) }
            var skipped: [String] = []
            #expect(
                try directory.liveInstances { skipped.append($0.message) }.map(\.address) == ["10.0.0.1:80"])
            #expect(skipped.contains { $0.contains("symbolic link") }, "\(skipped)")
            guard geteuid() == 0 else { return }
            let foreign = try liveEntry(path + "/foreign.instance", address: "10.6.6.7:66")
            defer { close(foreign) }
            #expect(fchown(foreign, 65534, 65534) == 0)
            #expect(try directory.liveInstances().map(\.address) == ["10.0.0.1:80"])
        }
    }

    @Test(
        "a stale entry is not removed while a registrar holds the directory lock (its rename may be landing)")
    func staleRemovalWaitsForTheLock() async throws {
        try await withService { directory, path in
            let stale = path + "/web-a.instance"
            let fd = try liveEntry(stale, address: "10.0.0.1:80")
            close(fd)  // unlocked: stale
            // A registrar in the middle of its check-and-rename holds .lock.
            let registrar = open(path + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            try #require(registrar >= 0 && flock(registrar, LOCK_EX) == 0)
            #expect(try directory.liveInstances().isEmpty)
            #expect(access(stale, F_OK) == 0, "the entry was removed under a registrar's lock")
            close(registrar)
            #expect(try directory.liveInstances().isEmpty)
            #expect(access(stale, F_OK) != 0, "the stale entry was never removed")
        }
    }

    @Test("a live entry deregistered on purpose (sdctl deregister) stays out; its registrar says so")
    func deliberateDeregistrationSticks() async throws {
        try await withService { directory, _ in
            let messages = RecordingLogHandler.Messages()
            let registrar = try FileRegistrar(
                directory: directory, instance: Instance(address: "127.0.0.1:8080", id: "web-a"),
                logger: RecordingLogHandler.logger(messages), checkInterval: .milliseconds(20))
            try await registrar.register()
            #expect(try directory.remove(idOrAddress: "web-a") == ["web-a"])
            try await eventually(.seconds(30), "the registrar to notice") {
                messages.all.contains { $0.contains("deregistered by another process") }
            }
            // Many keeper checks later, still out, and nothing left behind.
            try await Task.sleep(for: .milliseconds(200))
            #expect(try directory.liveInstances().isEmpty)
            #expect(!messages.all.contains { $0.contains("registered again") })
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != ".lock" }
                    == [])
        }
    }

    @Test(
        "an entry moved aside by deregister whose registrar has exited is cleaned up by the next deregister")
    func abandonedDeregistration() async throws {
        try await withService { directory, path in
            let aside = path + "/.web-a.deregistered"
            close(try liveEntry(aside, address: "10.0.0.1:80"))
            let held = try liveEntry(path + "/.web-b.deregistered", address: "10.0.0.2:80")
            defer { close(held) }
            #expect(try directory.remove(idOrAddress: "nothing") == [])
            #expect(access(aside, F_OK) != 0, "the abandoned one stayed")
            #expect(access(path + "/.web-b.deregistered", F_OK) == 0, "one whose registrar lives was removed")
        }
    }

    @Test("a registrar whose entry vanishes puts it back and says so")
    func restoresItsEntry() async throws {
        try await withService { directory, _ in
            let messages = RecordingLogHandler.Messages()
            let registrar = try FileRegistrar(
                directory: directory, instance: Instance(address: "127.0.0.1:8080", id: "web-a"),
                logger: RecordingLogHandler.logger(messages), checkInterval: .milliseconds(50))
            try await registrar.register()
            let instancer = FileInstancer(directory: directory)
            defer { instancer.stop() }
            let subscription = instancer.subscribe()
            try await subscription.set(["127.0.0.1:8080"])
            #expect(unlink(registrar.entryPath) == 0)
            try await eventually(.seconds(30), "the entry put back, and a notice") {
                access(registrar.entryPath, F_OK) == 0
                    && messages.all.contains { $0.contains("registered again") }
            }
            try await subscription.set(["127.0.0.1:8080"], within: .seconds(30))
            try await registrar.deregister()
            try await subscription.set([])
        }
    }
}
