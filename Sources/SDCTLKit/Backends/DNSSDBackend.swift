// Built with the package trait DNS (on by default; Package.swift).
#if DNS
    import DNSDiscovery
    import Discovery

    /// `dnssd://[server[:port]]/_http._tcp.example.com[?resolve=a|aaaa|any&min-interval=1s&max-interval=5m]`:
    /// the instances of a DNS-SD service type over unicast DNS (RFC 6763), browsed by its PTR
    /// records, each instance's SRV and TXT records read; asked of `server` or, without one,
    /// of resolv.conf's servers, as `srv://` is. Read-only.
    struct DNSSDBackend: DiscoveryBackend, Equatable {
        static var backendDescription: BackendDescription { .dnssd }
        /// The server, the service type (as `name`), address resolution, intervals and the
        /// resolver's environment, read as `srv://` reads them.
        let options: SRVBackend
        var scheme: String { "dnssd" }
        var pollInterval: Duration? { options.minimumInterval }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            let path = "a service type like _http._tcp.example.com"
            options = try SRVBackend(url: url, environment: environment, scheme: "dnssd", path: path)
            // RFC 6763 section 7: the second label is the protocol, _tcp or _udp.
            let labels = options.name.split(separator: ".")
            guard ["_tcp", "_udp"].contains(labels[1].lowercased()) else {
                throw url.invalid("dnssd:// needs \(path): the second label is _tcp or _udp")
            }
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            DNSSDInstancer(
                client: DNSClient(configuration: try options.resolverConfiguration(), logger: context.logger),
                configuration: configuration(context), logger: context.logger)
        }

        /// One refresh without a watch, on a client of its own threads, as `srv://` does.
        func resolveOnce(_ context: CommandContext) async throws(CLIError) -> [Instance]? {
            let client = DNSClient(
                configuration: try options.resolverConfiguration(), transport: .threadPerExchange,
                logger: context.logger)
            do {
                return try await DNSSDInstancer.resolve(
                    client: client, configuration: configuration(context), logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }

        private func configuration(_ context: CommandContext) -> DNSSDInstancer.Configuration {
            DNSSDInstancer.Configuration(
                serviceType: options.name, resolve: options.resolve, minimumInterval: options.minimumInterval,
                maximumInterval: options.maximumInterval, queryTimeout: options.queryTimeout(context),
                maximumInstances: context.maximumInstances)
        }
    }
#endif  // DNS

extension BackendDescription {
    static let dnssd: BackendDescription = {
        #if DNS
            let implementation: (any DiscoveryBackend.Type)? = DNSSDBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "DNS-SD", trait: "DNS", schemes: ["dnssd"], usesEventLoops: false, shortForm: "dnssd://",
            targets: [
                CommandTable.Entry(
                    "dnssd:///_http._tcp.example.com",
                    "DNS-SD instances over unicast DNS (PTR, SRV, TXT), from resolv.conf's servers or dnssd://SERVER:PORT/...; read-only"
                )
            ],
            environment: [],
            implementation: implementation,
            readOnlyAdvice: "register the instance's PTR, SRV and TXT records in the zone")
    }()
}
