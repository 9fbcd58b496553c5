import Discovery
import FileDiscovery
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("File backend")
struct FileBackendTests {
    @Test("a registration is seen by a watcher and goes away on deregister")
    func registerAndDeregister() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        try await subscription.set([])
        let registrar = try FileRegistrar(
            directory: directory,
            instance: Instance(address: "127.0.0.1:8080", tags: ["blue"], metadata: ["v": "2"]))
        try await registrar.register()
        try await registrar.register()  // idempotent
        let seen = try await subscription.set(["127.0.0.1:8080"])
        #expect(seen[0].tags == ["blue"])
        #expect(seen[0].metadata == ["v": "2"])
        #expect(seen[0].id == registrar.instance.id)
        try await registrar.deregister()
        try await registrar.deregister()  // idempotent
        try await subscription.set([])
    }

    @Test("an id held by a live registrar is refused, not taken over")
    func liveIDConflict() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        // Another process holds the id: a child that registers and waits.
        let child = spawnRegisteringChild(directory.path, id: "one", address: "10.0.0.1:80")
        defer {
            kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        try await eventually(.seconds(5), "the child's registration") {
            (try? directory.liveInstances().map(\.address)) == ["10.0.0.1:80"]
        }
        let second = try FileRegistrar(
            directory: directory, instance: Instance(address: "10.0.0.2:80", id: "one"))
        #expect(throws: DiscoveryError.self) { try second.registerNow() }
        #expect(try directory.liveInstances().map(\.address) == ["10.0.0.1:80"], "the live one is untouched")
    }

    @Test("a stale entry (no live holder) is never listed and is removed")
    func staleEntry() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        try makeDirectory(directory.path)
        let stale = directory.path + "/gone.instance"
        try write(
            stale,
            #"{"address":"10.0.0.9:80","id":"gone","tags":[],"metadata":{},"pid":1,"registered_at":"x"}"#)
        #expect(try directory.liveInstances().isEmpty)
        #expect(access(stale, F_OK) != 0)
        // Same through an instancer.
        try write(
            stale,
            #"{"address":"10.0.0.9:80","id":"gone","tags":[],"metadata":{},"pid":1,"registered_at":"x"}"#)
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        try await instancer.subscribe().set([])
    }

    @Test("an unreadable entry is reported and skipped, not fatal")
    func garbageEntry() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let good = try FileRegistrar(directory: directory, instance: Instance(address: "10.0.0.1:80"))
        try good.registerNow()
        defer { good.deregisterNow() }
        let bad = try FileRegistrar(
            directory: directory, instance: Instance(address: "10.0.0.2:80", id: "bad"))
        try bad.registerNow()
        defer { bad.deregisterNow() }
        // Overwrite the live entry's content in place (the lock stays held).
        try write(bad.entryPath, "this is not json")
        var skipped: [DiscoveryError] = []
        let live = try directory.liveInstances { skipped.append($0) }
        #expect(live.map(\.address) == ["10.0.0.1:80"])
        #expect(skipped.count == 1)
        #expect(skipped.first?.code == .invalidResponse)
    }

    @Test("remove(idOrAddress:) removes by id or by address and is idempotent")
    func removeByIDOrAddress() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let one = try FileRegistrar(
            directory: directory, instance: Instance(address: "10.0.0.1:80", id: "one"))
        let two = try FileRegistrar(
            directory: directory, instance: Instance(address: "10.0.0.2:80", id: "two"))
        try one.registerNow()
        try two.registerNow()
        defer {
            one.deregisterNow()
            two.deregisterNow()
        }
        #expect(try directory.remove(idOrAddress: "one") == ["one"])
        #expect(try directory.remove(idOrAddress: "10.0.0.2:80") == ["two"])
        #expect(try directory.remove(idOrAddress: "one") == [])
        #expect(try directory.liveInstances().isEmpty)
        #expect(try FileServiceDirectory(path: temp.path + "/never").remove(idOrAddress: "x") == [])
    }

    @Test("registering from many threads at once gives every registration")
    func concurrentRegistration() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let registrars = try (1...40).map {
            try FileRegistrar(directory: directory, instance: Instance(address: "10.0.1.\($0):80"))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for registrar in registrars { group.addTask { try await registrar.register() } }
            try await group.waitForAll()
        }
        #expect(try directory.liveInstances().count == 40)
        for registrar in registrars { registrar.deregisterNow() }
        #expect(try directory.liveInstances().isEmpty)
    }

    @Test("registering from many processes at once gives every registration")
    func concurrentProcesses() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        try makeDirectory(directory.path)
        // Each child takes the directory lock, renames a locked entry into place and holds it,
        // exactly as FileRegistrar does, all racing for the same lock file.
        let children = (1...8).map {
            spawnRegisteringChild(directory.path, id: "c\($0)", address: "10.0.2.\($0):80")
        }
        defer {
            for child in children {
                kill(child, SIGKILL)
                var status: Int32 = 0
                waitpid(child, &status, 0)
            }
        }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        try await instancer.subscribe().set((1...8).map { "10.0.2.\($0):80" }, within: .seconds(10))
    }

    @Test("a killed registering process drops out of the watcher's set within 3 s")
    func killedProcessDropsOut() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        try await subscription.set([])
        let entry = directory.path + "/child.instance"
        let child = spawnRegisteringChild(directory.path, id: "child", address: "10.0.0.7:80")
        try await subscription.set(["10.0.0.7:80"])
        kill(child, SIGKILL)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let killed = ContinuousClock.now
        // Milliseconds when the machine is idle (docs/file-backend.md); the bound allows for
        // CI's two cores running every suite at once (1.10 s seen there) and still tells a
        // late removal from a missed one, which never comes.
        try await subscription.set([], within: .seconds(3))
        #expect(ContinuousClock.now - killed < .seconds(3))
        #expect(access(entry, F_OK) != 0, "the stale entry is removed, so it never comes back")
    }

    @Test("the watcher recovers when its directory is removed and comes back")
    func directoryRemoved() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let instancer = FileInstancer(directory: directory)
        defer { instancer.stop() }
        let subscription = instancer.subscribe()
        try await subscription.set([])
        // A plain file where the directory was: the watcher cannot recover until it goes, so
        // its failure stays the latest state (a latest-wins subscriber could miss a brief one).
        #expect(rmdir(directory.path) == 0)
        try write(directory.path, "not a directory")
        let failure = try await subscription.first(within: .seconds(5), "an error event") {
            $0.failure != nil
        }
        #expect(failure.failure?.message.contains(directory.path) == true)
        #expect(unlink(directory.path) == 0)
        let registrar = try FileRegistrar(directory: directory, instance: Instance(address: "10.0.0.3:80"))
        try registrar.registerNow()
        defer { registrar.deregisterNow() }
        try await subscription.set(["10.0.0.3:80"], within: .seconds(10))
    }

    @Test("nothing is delivered after stop")
    func stopDeliversNothing() async throws {
        let (directory, temp) = scratchDirectory()
        defer { temp.remove() }
        let instancer = FileInstancer(directory: directory)
        let subscription = instancer.subscribe()
        try await subscription.set([])
        instancer.stop()
        instancer.stop()
        let registrar = try FileRegistrar(directory: directory, instance: Instance(address: "10.0.0.4:80"))
        try registrar.registerNow()
        defer { registrar.deregisterNow() }
        var iterator = subscription.makeAsyncIterator()
        #expect(await iterator.next() == nil)
    }

    @Test("service names and ids are validated", arguments: ["", ".hidden", "a/b", "sp ace", "x\u{0}"])
    func invalidNames(name: String) {
        #expect(throws: DiscoveryError.self) { try FileServiceDirectory.validateServiceName(name) }
        #expect(throws: DiscoveryError.self) { try FileServiceDirectory.validateID(name) }
    }

    @Test("the home directory follows SDCTL_HOME, then XDG_STATE_HOME, then HOME")
    func home() throws {
        #expect(
            try FileServiceDirectory.home(environment: ["SDCTL_HOME": "/a", "XDG_STATE_HOME": "/b"]) == "/a")
        #expect(
            try FileServiceDirectory.home(environment: ["XDG_STATE_HOME": "/b", "HOME": "/h"]) == "/b/sdctl")
        #expect(try FileServiceDirectory.home(environment: ["HOME": "/h"]) == "/h/.local/state/sdctl")
    }
}

// MARK: - Helpers

/// A service directory `web` inside a fresh temporary directory (which the caller removes).
func scratchDirectory() -> (FileServiceDirectory, TemporaryDirectory) {
    let temp = TemporaryDirectory()
    return (FileServiceDirectory(path: temp.path + "/web"), temp)
}

func makeDirectory(_ path: String) throws {
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw DeadlineExceeded(what: "mkdir \(path)") }
}

func write(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw DeadlineExceeded(what: "open \(path)") }
    defer { close(fd) }
    _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
}

/// A child process that registers the way FileRegistrar does (directory lock, locked temporary
/// file renamed into place) and then holds the registration until it is killed.
func spawnRegisteringChild(_ directory: String, id: String, address: String) -> pid_t {
    spawnShell(
        """
        mkdir -p '\(directory)'; exec 8>'\(directory)/.lock'; flock 8; \
        exec 9>'\(directory)/.\(id).tmp'; flock -n 9; \
        printf '{"address":"\(address)","id":"\(id)","tags":[],"metadata":{},"pid":0,"registered_at":"x"}' >&9; \
        mv '\(directory)/.\(id).tmp' '\(directory)/\(id).instance'; exec 8>&-; exec sleep 60
        """)
}

func spawnShell(_ script: String) -> pid_t {
    spawnProcess("/bin/sh", ["-c", script])
}
