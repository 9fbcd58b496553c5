// Built with the package trait ZooKeeper (on by default; Package.swift).
#if ZooKeeper
    import Discovery
    import ZooKeeperDiscovery

    /// `zk://h1:2181,h2:2181/services/web[?layout=gokit|curator&port=ssl]`: go-kit's or Apache
    /// Curator's layout over libzookeeper_mt, detected from the children without `layout=`.
    /// Digest credentials come from SDCTL_ZK_DIGEST or the file named by SDCTL_ZK_DIGEST_FILE
    /// (never argv).
    struct ZooKeeperBackend: RegisteringBackend, Equatable {
        static var backendDescription: BackendDescription { .zooKeeper }
        let hosts: [HostPort]
        let path: String
        /// `nil`: read each child in its own layout, register in the one found.
        var layout: ZooKeeperLayout?
        var port: CuratorServiceInstance.Port = .plain
        var scheme: String { "zk" }

        init(hosts: [HostPort], path: String, layout: ZooKeeperLayout? = nil) {
            self.hosts = hosts
            self.path = path
            self.layout = layout
        }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            hosts = try url.hosts(defaultPort: 2181)
            for (key, value) in url.parameters {
                switch key {
                case "layout":
                    guard let value, let layout = ZooKeeperLayout(rawValue: value) else {
                        throw url.invalid("layout= takes gokit or curator")
                    }
                    self.layout = layout
                case "port":
                    guard value == "ssl" || value == "plain" else {
                        throw url.invalid("port= takes ssl (a Curator instance's sslPort) or plain")
                    }
                    port = value == "ssl" ? .ssl : .plain
                default:
                    throw url.invalid("unknown query parameter '\(key)' (known: layout, port)")
                }
            }
            if port == .ssl, layout == .gokit {
                throw url.invalid("port=ssl reads a Curator instance's sslPort: go-kit's layout has one port")
            }
            guard url.path.count > 1, !url.path.hasSuffix("/"), !url.path.contains("//") else {
                throw url.invalid("zk:// needs a node path such as /services/web (no trailing '/')")
            }
            path = url.path
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let client = try makeClient(context, sessionTimeout: nil)
            return ConnectionOwningInstancer(
                base: ZooKeeperInstancer(
                    client: client, path: path, layout: layout, port: port,
                    connectTimeout: context.connectGrace,
                    logger: context.logger),
                close: { client.close() })
        }

        func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
            -> any Registrar
        {
            let client = try makeClient(context, sessionTimeout: ttl)
            return try ConnectionOwningRegistrar.owning(close: { client.close() }) { () throws(CLIError) in
                try mapping {
                    try ZooKeeperRegistrar(
                        client: client, path: path, instance: instance, layout: layout,
                        connectTimeout: context.timeout ?? .seconds(10), logger: context.logger)
                }
            }
        }

        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            let client = try makeClient(context, sessionTimeout: nil)
            let logger = context.logger
            return RegistrarFactory(
                make: { instance throws(CLIError) in
                    try mapping {
                        try ZooKeeperRegistrar(
                            client: client, path: path, instance: instance, layout: layout, logger: logger)
                    }
                },
                close: { client.close() })
        }

        func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
            let client = try makeClient(context, sessionTimeout: nil)
            defer { client.close() }
            do throws(DiscoveryError) {
                try await client.waitUntilConnected(timeout: context.timeout ?? .seconds(10))
                return try await ZooKeeperMaintenance.remove(
                    idOrAddress: idOrAddress, under: path, client: client)
            } catch {
                throw cliError(error)
            }
        }

        /// A client with digest credentials from the environment.
        func makeClient(_ context: CommandContext, sessionTimeout: Duration?) throws(CLIError)
            -> ZooKeeperClient
        {
            var digest = context.environment["SDCTL_ZK_DIGEST"].flatMap { $0.isEmpty ? nil : $0 }
            if digest == nil, let file = context.environment["SDCTL_ZK_DIGEST_FILE"], !file.isEmpty {
                guard let text = try? TextFile.firstLine(of: file), !text.isEmpty else {
                    throw CLIError(.usage, "cannot read SDCTL_ZK_DIGEST_FILE '\(file)'")
                }
                digest = text
            }
            if let digest, !digest.contains(":") {
                throw CLIError(.usage, "ZooKeeper digest credentials must be user:password (SDCTL_ZK_DIGEST)")
            }
            let configuration = ZooKeeperClient.Configuration(
                connectString: hosts.map(\.description).joined(separator: ","),
                sessionTimeout: sessionTimeout ?? .seconds(10), digest: digest,
                libraryLog: context.invocation.has("verbose"))
            do throws(DiscoveryError) {
                return try ZooKeeperClient(configuration, logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }
    }
#endif  // ZooKeeper

extension BackendDescription {
    static let zooKeeper: BackendDescription = {
        #if ZooKeeper
            let implementation: (any DiscoveryBackend.Type)? = ZooKeeperBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "ZooKeeper", trait: "ZooKeeper", schemes: ["zk"], usesEventLoops: false, shortForm: "zk://",
            targets: [
                CommandTable.Entry(
                    "zk://H1:2181,H2:2181/services/web", "ZooKeeper: the children of a node, each an instance"
                ),
                CommandTable.Entry(
                    "  ?layout=gokit|curator&port=ssl",
                    "go-kit's or Apache Curator's layout (detected without it); a Curator instance's sslPort"),
            ],
            environment: [
                CommandTable.Entry(
                    "SDCTL_ZK_DIGEST, SDCTL_ZK_DIGEST_FILE",
                    "ZooKeeper digest credentials user:password, or a file holding them")
            ],
            implementation: implementation)
    }()
}
