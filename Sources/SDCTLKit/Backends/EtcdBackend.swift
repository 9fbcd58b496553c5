// Built with the package trait Etcd (on by default; Package.swift).
#if Etcd
    import Discovery
    import EtcdDiscovery
    import Synchronization

    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif

    /// `etcd://h:2379/services/web/[?layout=gokit|grpc]` (`etcds://` with TLS): keys under a
    /// prefix whose values are addresses (go-kit's layout) or etcd's gRPC naming JSON; with
    /// `layout=grpc` the path is a gRPC naming target as grpc-go's etcd resolver reads it (one
    /// leading `/` dropped, keys `TARGET/ADDR`). etcdctl's environment: ETCDCTL_ENDPOINTS when the URL has no host, ETCDCTL_USER
    /// (`user` or `user:password`), ETCDCTL_PASSWORD, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY.
    struct EtcdBackend: RegisteringBackend, Equatable {
        static var backendDescription: BackendDescription { .etcd }
        let endpoints: [HostPort]
        let prefix: String
        let tls: Bool
        /// `nil`: read each key in its own layout, register in the one found.
        var layout: EtcdLayout?
        var scheme: String { tls ? "etcds" : "etcd" }

        init(endpoints: [HostPort], prefix: String, tls: Bool, layout: EtcdLayout? = nil) {
            self.endpoints = endpoints
            self.prefix = prefix
            self.layout = layout
            self.tls = tls
        }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            if url.authority.isEmpty {
                // No host: the endpoints come from ETCDCTL_ENDPOINTS, as etcdctl takes them.
                guard let listed = environment["ETCDCTL_ENDPOINTS"], !listed.isEmpty else {
                    throw url.invalid("no host, and ETCDCTL_ENDPOINTS is not set")
                }
                var parsed: [HostPort] = []
                for endpoint in listed.split(separator: ",") {
                    var text = Substring(endpoint.trimmingWhitespace())
                    for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
                        text = text.dropFirst(scheme.count)
                    }
                    if text.hasSuffix("/") { text = text.dropLast() }
                    do {
                        parsed.append(try HostPort(parsing: String(text), defaultPort: 2379))
                    } catch {
                        throw url.invalid("ETCDCTL_ENDPOINTS: \(error.message)")
                    }
                }
                endpoints = parsed
            } else {
                endpoints = try url.hosts(defaultPort: 2379)
            }
            for (key, value) in url.parameters {
                guard key == "layout" else {
                    throw url.invalid("unknown query parameter '\(key)' (known: layout)")
                }
                guard let value, let layout = EtcdLayout(rawValue: value) else {
                    throw url.invalid("layout= takes gokit or grpc")
                }
                self.layout = layout
            }
            guard url.path.count > 1 else {
                throw url.invalid("\(url.scheme):// needs a key prefix such as /services/web/")
            }
            if layout == .grpc {
                // grpc-go's etcd:///my-service is the target my-service, its keys my-service/ADDR.
                let target = url.path.dropFirst()
                prefix = target.hasSuffix("/") ? String(target) : target + "/"
            } else {
                prefix = url.path
            }
            tls = url.scheme == "etcds"
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let client = try makeClient(context)
            return ConnectionOwningInstancer(
                base: EtcdInstancer(client: client, prefix: prefix, layout: layout, logger: context.logger),
                close: { client.close() })
        }

        /// One prefix Range on a client of its own, closed after: what `etcdctl get --prefix`
        /// does, without the instancer's watch (docs/benchmarks.md, "Process start").
        func resolveOnce(_ context: CommandContext) async throws(CLIError) -> [Instance]? {
            let client = try makeClient(context)
            defer { client.close() }
            do {
                return try await EtcdInstancer.resolve(
                    client: client, prefix: prefix, layout: layout, logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }

        func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
            -> any Registrar
        {
            let client = try makeClient(context)
            return try ConnectionOwningRegistrar.owning(close: { client.close() }) { () throws(CLIError) in
                try mapping {
                    try EtcdRegistrar(
                        client: client, prefix: prefix, instance: instance, layout: layout,
                        ttl: ttl ?? .seconds(10),
                        logger: context.logger)
                }
            }
        }

        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            let client = try makeClient(context)
            let logger = context.logger
            let layout = self.layout
            // The rounds of `bench propagation` register one after another under one prefix: the
            // layout the last registrar found is this one's, as a registering process finds it
            // once. Each round's registrar looked again, timing a Range per registration that
            // etcd's Go client does not make (docs/benchmarks.md).
            let previous = LastRegistrar()
            return RegistrarFactory(
                make: { instance throws(CLIError) in
                    try mapping {
                        let registrar = try EtcdRegistrar(
                            client: client, prefix: prefix, instance: instance,
                            layout: layout ?? previous.registrar.withLock { $0?.knownLayout }, logger: logger)
                        previous.registrar.withLock { $0 = registrar }
                        return registrar
                    }
                },
                close: { client.close() })
        }

        func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
            let client = try makeClient(context)
            defer { client.close() }
            do {
                return try await EtcdMaintenance.remove(
                    idOrAddress: idOrAddress, prefix: prefix, client: client)
            } catch {
                throw cliError(error)
            }
        }

        /// A client with etcdctl's credentials and certificates from the environment.
        func makeClient(_ context: CommandContext) throws(CLIError) -> EtcdClient {
            let environment = context.environment
            func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            var username = value("ETCDCTL_USER")
            var password = value("ETCDCTL_PASSWORD")
            if let user = username, let colon = user.firstIndex(of: ":"), password == nil {
                username = String(user[..<colon])
                password = String(user[user.index(after: colon)...])
            }
            let certificates = [value("ETCDCTL_CACERT"), value("ETCDCTL_CERT"), value("ETCDCTL_KEY")]
            for (name, file) in zip(["ETCDCTL_CACERT", "ETCDCTL_CERT", "ETCDCTL_KEY"], certificates) {
                if let file, access(file, R_OK) != 0 {
                    throw CLIError(.usage, "cannot read \(name) '\(file)'")
                }
            }
            let useTLS = tls || certificates.contains { $0 != nil }
            var configuration = EtcdClient.Configuration(
                endpoints: endpoints,
                tls: useTLS
                    ? EtcdClient.TLS(
                        caFile: certificates[0], certificateFile: certificates[1], keyFile: certificates[2])
                    : nil,
                username: username, password: password)
            configuration.maximumInstances = context.maximumInstances
            do {
                return try EtcdClient(configuration, logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }
    }

    /// The registrar a factory made last, whose layout the next one takes.
    private final class LastRegistrar: Sendable {
        let registrar = Mutex<EtcdRegistrar?>(nil)
    }
#endif  // Etcd

extension BackendDescription {
    static let etcd: BackendDescription = {
        #if Etcd
            let implementation: (any DiscoveryBackend.Type)? = EtcdBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "etcd", trait: "Etcd", schemes: ["etcd", "etcds"], usesEventLoops: true,
            shortForm: "etcd://",
            targets: [
                CommandTable.Entry(
                    "etcd://H1:2379,H2:2379/services/web/",
                    "etcd v3: the keys under a prefix (etcds:// for TLS)"),
                CommandTable.Entry(
                    "  ?layout=gokit|grpc",
                    "go-kit's layout or etcd's gRPC naming (detected without it; grpc: the path is the target)"
                ),
            ],
            environment: [
                CommandTable.Entry(
                    "ETCDCTL_ENDPOINTS", "etcd endpoints for an etcd:/// target without hosts"),
                CommandTable.Entry("ETCDCTL_USER, ETCDCTL_PASSWORD", "etcd user name and password"),
                CommandTable.Entry(
                    "ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY",
                    "etcd TLS: the CA, and a client certificate and key (PEM files)"),
            ],
            implementation: implementation)
    }()
}
