import Synchronization
import TestSupport
import Testing

@testable import SDCTLKit

#if canImport(Glibc)
    import Glibc
#endif

/// Issue #29: a template's destination is replaced atomically, keeps its mode, and is left
/// alone when its content would not change.
@Suite("Rendered files")
struct RenderedFileTests {
    func contents(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The names in a directory, hidden ones included, without `.` and `..`.
    func names(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func status(_ path: String) -> stat {
        var status = stat()
        #expect(stat(path, &status) == 0)
        return status
    }

    @Test("a new file gets 0666 less the umask; a rewrite keeps the mode; the same content is not written")
    func modeAndChanges() throws {
        let directory = TemporaryDirectory("sdctl-render")
        defer { directory.remove() }
        let path = directory.path + "/upstream.conf"
        let file = RenderedFile(path: path)
        #expect(try file.replace(with: Array("one\n".utf8)))
        #expect(contents(path) == "one\n")
        let mask = umask(0)
        umask(mask)
        #expect(status(path).st_mode & 0o7777 == 0o666 & ~mask)

        #expect(chmod(path, 0o640) == 0)
        let before = status(path)
        #expect(try file.replace(with: Array("one\n".utf8)) == false)
        #expect(status(path).st_ino == before.st_ino)  // not replaced
        #expect(try file.replace(with: Array("two\n".utf8)))
        #expect(contents(path) == "two\n")
        #expect(status(path).st_mode & 0o7777 == 0o640)
        #expect(status(path).st_ino != before.st_ino)
        // No temporary file is left behind.
        #expect(names(in: directory.path) == ["upstream.conf"])
    }

    @Test("a symbolic link is followed: the file it names is replaced and the link kept")
    func symbolicLink() throws {
        let directory = TemporaryDirectory("sdctl-render")
        defer { directory.remove() }
        let real = directory.path + "/real.conf"
        let link = directory.path + "/link.conf"
        #expect(try RenderedFile(path: real).replace(with: Array("a".utf8)))
        #expect(symlink(real, link) == 0)
        #expect(try RenderedFile(path: link).replace(with: Array("b".utf8)))
        var status = stat()
        #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK)
        #expect(contents(real) == "b")
    }

    @Test("failures are errors naming the step, and leave no temporary file")
    func failures() throws {
        let directory = TemporaryDirectory("sdctl-render")
        defer { directory.remove() }
        #expect(mkdir(directory.path + "/sub", 0o700) == 0)
        #expect(throws: RenderedFile.WriteError.self) {
            try RenderedFile(path: directory.path + "/sub").replace(with: [0x41])
        }
        #expect(throws: RenderedFile.WriteError.self) {
            try RenderedFile(path: directory.path + "/missing/x.conf").replace(with: [0x41])
        }
        #expect(names(in: directory.path) == ["sub"])
    }

    @Test("a reader looping over the file sees the old content or the new, never a part")
    func atomic() async throws {
        let directory = TemporaryDirectory("sdctl-render")
        defer { directory.remove() }
        let path = directory.path + "/big.conf"
        let old = String(repeating: "a", count: 256 * 1024)
        let new = String(repeating: "b", count: 256 * 1024)
        let file = RenderedFile(path: path)
        _ = try file.replace(with: Array(old.utf8))
        let counts = ReadCounts()
        // Both loops run on threads of their own at the lowest priority (offPoolAtLowPriority):
        // a reader spinning on one of the two threads of the cooperative pool, beside another
        // test's, held both for ever in CI; at normal priority they starved the tests beside them.
        let reader = Task {
            try await offPoolAtLowPriority { [self] in
                while !counts.stop.load(ordering: .relaxed) {
                    if let text = contents(path), text != old, text != new {
                        counts.torn.add(1, ordering: .relaxed)
                    }
                    counts.reads.add(1, ordering: .relaxed)
                }
            }
        }
        // Rewrites until the reader has read many times while they went on (a loaded machine
        // may start the reader late), at least 100 times, for at most 30 s.
        let writer: Result<Void, any Error> = try await offPoolAtLowPriority {
            defer { counts.stop.store(true, ordering: .relaxed) }
            let deadline = ContinuousClock.now + .seconds(30)
            var round = 0
            return Result {
                while round < 100
                    || (counts.reads.load(ordering: .relaxed) < 200 && ContinuousClock.now < deadline)
                {
                    _ = try file.replace(with: Array((round % 2 == 0 ? new : old).utf8))
                    round += 1
                }
            }
        }
        try await reader.value
        try writer.get()
        let reads = counts.reads.load(ordering: .relaxed)
        let torn = counts.torn.load(ordering: .relaxed)
        #expect(reads >= 200)
        #expect(torn == 0)
    }
}

/// What the reader of the atomicity test counted, shared with the writer.
private final class ReadCounts: Sendable {
    let reads = Atomic<Int>(0)
    let torn = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}
