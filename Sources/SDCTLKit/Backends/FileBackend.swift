import Discovery
import FileDiscovery

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

    func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
        -> any Registrar
    {
        try mapping { try FileRegistrar(directory: directory, instance: instance, logger: context.logger) }
    }

    func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
        try mapping { try directory.remove(idOrAddress: idOrAddress) }
    }
}
