// Built with the package trait DNS (on by default; Package.swift).
#if DNS
    import DNSDiscovery
    import Discovery

    /// `srv://[server[:port]]/_http._tcp.web.example.com[?resolve=a|aaaa|any&min-interval=1s&max-interval=5m]`:
    /// the SRV records of a name, asked of `server` (port 53 by default) or, without one, of the
    /// servers in resolv.conf (`SDCTL_RESOLV_CONF` names another file; `RES_OPTIONS` and
    /// `LOCALDOMAIN` apply as for the system resolver). Read-only for `register` and
    /// `deregister`, which are usage errors; `bench propagation` changes records by RFC 2136
    /// dynamic update, which the server must allow from this host.
    struct SRVBackend: ChangeMakingBackend, Equatable {
        static var backendDescription: BackendDescription { .srv }
        let server: HostPort?
        let name: String
        var resolve: SRVInstancer.AddressResolution = .none
        var minimumInterval: Duration = .seconds(1)
        var maximumInterval: Duration = .seconds(300)
        var resolvConf = "/etc/resolv.conf"
        var environment: [String: String] = [:]
        var scheme: String { "srv" }
        /// Records come with TTL 0 in `bench propagation`: the watcher asks every min-interval.
        var pollInterval: Duration? { minimumInterval }

        init(server: HostPort?, name: String) {
            self.server = server
            self.name = name
        }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            try self.init(
                url: url, environment: environment, scheme: "srv",
                path: "a record name like _http._tcp.web.example.com")
        }

        /// Also how `dnssd://` reads its server, its path (a service type has an SRV name's
        /// shape: `_http._tcp.example.com`), parameters and environment.
        init(url: TargetURL, environment: [String: String], scheme: String, path: String) throws(CLIError) {
            server = url.authority.isEmpty ? nil : try url.host(defaultPort: 53)
            let name = String(url.path.dropFirst())
            let absolute = name.hasSuffix(".")
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            guard url.path.hasPrefix("/"), labels.count >= 3, labels[0].hasPrefix("_"),
                labels[1].hasPrefix("_"),
                HostPort.isHostName(Substring(absolute ? String(name.dropLast()) : name)),
                !labels.dropLast(absolute ? 1 : 0).contains(where: \.isEmpty)
            else {
                throw url.invalid("\(scheme):// needs \(path)")
            }
            self.name = name
            for (key, value) in url.parameters {
                switch key {
                case "resolve":
                    guard let value, let mode = SRVInstancer.AddressResolution(rawValue: value), mode != .none
                    else {
                        throw url.invalid("resolve= takes a, aaaa or any")
                    }
                    resolve = mode
                case "min-interval", "max-interval":
                    guard let value, let duration = DurationParser.parse(value), duration >= .milliseconds(10)
                    else {
                        throw url.invalid("\(key)= takes a duration of at least 10ms such as 1s or 5m")
                    }
                    if key == "min-interval" {
                        minimumInterval = duration
                    } else {
                        maximumInterval = duration
                    }
                default:
                    throw url.invalid(
                        "unknown parameter '\(key)' (\(scheme):// takes resolve, min-interval, max-interval)")
                }
            }
            guard minimumInterval <= maximumInterval else {
                throw url.invalid("min-interval is longer than max-interval")
            }
            if let path = environment["SDCTL_RESOLV_CONF"], !path.isEmpty { resolvConf = path }
            self.environment = environment.filter { $0.key == "RES_OPTIONS" || $0.key == "LOCALDOMAIN" }
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            SRVInstancer(
                client: DNSClient(configuration: try resolverConfiguration(), logger: context.logger),
                configuration: instancerConfiguration(context), logger: context.logger)
        }

        private func instancerConfiguration(_ context: CommandContext) -> SRVInstancer.Configuration {
            SRVInstancer.Configuration(
                name: name, resolve: resolve, minimumInterval: minimumInterval,
                maximumInterval: maximumInterval,
                queryTimeout: queryTimeout(context))
        }

        /// One refresh (all servers and attempts) must end before --timeout does, so that no
        /// answer is reported as the server's failure (69), not as sdctl's timeout (124).
        func queryTimeout(_ context: CommandContext) -> Duration {
            (context.timeout ?? ResolveCommand.defaultTimeout) * 8 / 10
        }

        /// One refresh without a watch, on a client of its own threads: `resolve` then starts
        /// nothing of swift-nio, whose channel set-up cost more than the query (docs/benchmarks.md,
        /// "Process start").
        func resolveOnce(_ context: CommandContext) async throws(CLIError) -> [Instance]? {
            let client = DNSClient(
                configuration: try resolverConfiguration(), transport: .threadPerExchange,
                logger: context.logger)
            do {
                return try await SRVInstancer.resolve(
                    client: client, configuration: instancerConfiguration(context), logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }

        func resolverConfiguration() throws(CLIError) -> DNSResolverConfiguration {
            if let server {
                var configuration = DNSResolverConfiguration(servers: [server])
                // The options still apply to a named server; its search list does not.
                let options = DNSResolverConfiguration(resolvConf: "", environment: environment)
                configuration.timeout = options.timeout
                configuration.attempts = options.attempts
                return configuration
            }
            do {
                return try DNSResolverConfiguration.system(path: resolvConf, environment: environment)
            } catch {
                throw CLIError(error)
            }
        }

        /// For `bench propagation`: instances become SRV records of the name by RFC 2136 update
        /// (TTL 0, so a watcher sees them after its min-interval), through one client.
        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            let client = DNSClient(configuration: try resolverConfiguration(), logger: context.logger)
            let name = name
            return RegistrarFactory(
                make: { instance throws(CLIError) in
                    try mapping { try DNSUpdateRegistrar(client: client, name: name, instance: instance) }
                },
                close: {})
        }
    }
#endif  // DNS

extension BackendDescription {
    static let srv: BackendDescription = {
        #if DNS
            let implementation: (any DiscoveryBackend.Type)? = SRVBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        // A watch's queries go over swift-nio's channels, but one exchange per TTL gains nothing
        // from running its tasks on the event loops, and `resolve` starts none (resolveOnce).
        return BackendDescription(
            name: "DNS", trait: "DNS", schemes: ["srv"], usesEventLoops: false, shortForm: "srv://",
            targets: [
                CommandTable.Entry(
                    "srv:///_http._tcp.web.example.com",
                    "DNS SRV records, from resolv.conf's servers or srv://SERVER:PORT/...; read-only")
            ],
            environment: [
                CommandTable.Entry(
                    "SDCTL_RESOLV_CONF",
                    "the resolv.conf that srv:/// targets read (default /etc/resolv.conf)"),
                CommandTable.Entry(
                    "LOCALDOMAIN, RES_OPTIONS",
                    "search list and resolver options, as the C library reads them"),
            ],
            implementation: implementation)
    }()
}
