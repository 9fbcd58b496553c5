import Discovery
import FileDiscovery
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension BackendDescription {
    static let file = BackendDescription(
        name: "file", trait: nil, schemes: ["file"], usesEventLoops: false, shortForm: "file:///dir/name",
        targets: [
            CommandTable.Entry(
                "web", "a bare name: the file backend, one directory per service under $SDCTL_HOME; no server"
            ),
            CommandTable.Entry("file:///DIR/NAME", "the file backend in a directory of your choice"),
        ],
        environment: [
            CommandTable.Entry(
                "SDCTL_HOME",
                "the file backend's directory (default $XDG_STATE_HOME/sdctl, else ~/.local/state/sdctl)")
        ],
        implementation: FileBackend.self)
}

/// The embedded file backend: a bare service name under `$SDCTL_HOME`, or `file:///dir/web`.
struct FileBackend: RegisteringBackend, Equatable {
    static var backendDescription: BackendDescription { .file }
    let directory: FileServiceDirectory
    var scheme: String { "file" }

    init(directory: FileServiceDirectory) {
        self.directory = directory
    }

    /// A bare TARGET: a service name under `$SDCTL_HOME`.
    init(serviceName text: String, environment: [String: String]) throws(CLIError) {
        func invalid(_ why: String) -> CLIError { .usage("invalid target '\(text)': \(why)") }
        guard !text.contains("/"), !text.contains(":") else {
            throw invalid("expected a service name or a URL such as file:///dir/web or zk://host:2181/path")
        }
        do {
            directory = try FileServiceDirectory(serviceName: text, environment: environment)
        } catch {
            throw invalid(error.message.replacingOccurrences("invalid service name '\(text)': ", ""))
        }
    }

    init(url: TargetURL, environment: [String: String]) throws(CLIError) {
        guard url.authority.isEmpty else {
            throw url.invalid("file URLs take no host: write file:///absolute/dir")
        }
        try url.requireNoQuery()
        guard url.path.count > 1, !url.path.split(separator: "/").contains(where: { $0 == ".." }) else {
            throw url.invalid("file URLs need an absolute directory path without '..'")
        }
        directory = FileServiceDirectory(path: url.path)
    }

    func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
        FileInstancer(directory: directory, logger: context.logger)
    }

    /// One read of the directory: what the instancer's first set is, without the watch, whose
    /// inotify descriptor alone cost `resolve` a wait of up to 20 ms when it was closed (the
    /// kernel waits out an RCU grace period; docs/benchmarks.md, "Process start"). A directory
    /// that does not exist yet goes the instancer's way, which makes it (and checks the trust
    /// of its parents) as before.
    func resolveOnce(_ context: CommandContext) throws(CLIError) -> [Instance]? {
        var info = stat()
        guard lstat(directory.path, &info) == 0 else { return nil }
        let logger = context.logger
        return try mapping {
            try directory.liveInstances { error in
                logger.warning("skipping unreadable registration", metadata: ["sd.error": "\(error)"])
            }
        }
    }

    func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
        -> any Registrar
    {
        try mapping { try FileRegistrar(directory: directory, instance: instance, logger: context.logger) }
    }

    func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
        try mapping { try directory.remove(idOrAddress: idOrAddress) }
    }
}
