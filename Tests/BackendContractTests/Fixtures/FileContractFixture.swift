import Discovery
import FileDiscovery
import Foundation
import Logging
import TestSupport
import Testing

/// The file backend on a temporary directory.
struct FileContractFixture: RegistrarFixture {
    let directory: FileServiceDirectory
    let closers: Closers

    func makeInstancer() throws -> any Instancer {
        FileInstancer(directory: directory)
    }

    /// The directory is moved aside and a plain file takes its place, so no retry can make it
    /// again.
    func breakBackend() async throws {
        try FileManager.default.moveItem(atPath: directory.path, toPath: directory.path + ".gone")
        try Data().write(to: URL(fileURLWithPath: directory.path))
    }

    func makeRegistrar(address: String, logger: Logger) throws -> any Registrar {
        closers.deregistering(
            try FileRegistrar(directory: directory, instance: Instance(address: address), logger: logger))
    }

    func lose(_ registrar: any Registrar) async throws {
        let registrar = try #require(registrar as? FileRegistrar)
        try FileManager.default.removeItem(atPath: registrar.entryPath)
    }

    /// Every entry is opened for writing and closed untouched: the directory watch reports each
    /// (IN_CLOSE_WRITE) and the instancer reads it again, finding the same registration. (A copy
    /// renamed over an entry would not do: the registrar's lock stays on the file it replaced.)
    func rewriteUnchanged() async throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.hasSuffix(FileServiceDirectory.entrySuffix) && !name.hasPrefix(".") {
            let fd = open(directory.path + "/" + name, O_WRONLY | O_CLOEXEC)
            try #require(fd >= 0, "open \(name): errno \(errno)")
            close(fd)
        }
    }
}

extension ContractBackend {
    static let file = ContractBackend(name: "file") { body in
        let temporary = TemporaryDirectory("sdctl-contract")
        defer { temporary.remove() }
        try await Closers.with { closers in
            try await body(
                FileContractFixture(
                    directory: FileServiceDirectory(path: temporary.path + "/web"), closers: closers))
        }
    }
}
