// Built with the package trait DNS (on by default; Package.swift).
#if DNS
    import DNSDiscovery
    import Discovery

    /// `mdns://_http._tcp.local[?interface=NAME&resolve=a|aaaa|any&settle=1500ms]`: the instances of a
    /// DNS-SD service type on the local link over multicast DNS (RFC 6762), browsed continuously;
    /// `register` publishes one (probing, renaming on conflict, announcing, answering) for as long
    /// as it runs. The service type is the URL's authority (`mdns:///_http._tcp.local` also
    /// reads), under `.local`.
    struct MDNSBackend: RegisteringBackend, Equatable {
        static var backendDescription: BackendDescription { .mdns }
        let serviceType: String
        var interface: String?
        var resolve: SRVInstancer.AddressResolution = .none
        var settle: Duration = .milliseconds(1500)
        var scheme: String { "mdns" }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            let named = url.authority.isEmpty ? String(url.path.dropFirst()) : url.authority
            let name = DNSName.relative(named)
            let labels = name.lowercased().split(separator: ".", omittingEmptySubsequences: false)
            guard url.authority.isEmpty || url.path.isEmpty || url.path == "/", labels.count == 3,
                labels[0].hasPrefix("_"), labels[0].count > 1, ["_tcp", "_udp"].contains(labels[1]),
                labels[2] == "local", HostPort.isHostName(Substring(name))
            else {
                throw url.invalid("mdns:// needs a service type under .local like _http._tcp.local")
            }
            serviceType = name
            for (key, value) in url.parameters {
                switch key {
                case "interface":
                    guard let value, !value.isEmpty, value.utf8.count < 16, !value.contains("/") else {
                        throw url.invalid("interface= takes a network interface's name such as eth0")
                    }
                    interface = value
                case "resolve":
                    guard let value, let mode = SRVInstancer.AddressResolution(rawValue: value), mode != .none
                    else {
                        throw url.invalid("resolve= takes a, aaaa or any")
                    }
                    resolve = mode
                case "settle":
                    guard let value, let duration = DurationParser.parse(value),
                        duration >= .milliseconds(10),
                        duration <= .seconds(60)
                    else {
                        throw url.invalid("settle= takes a duration from 10ms to 60s such as 1s")
                    }
                    settle = duration
                default:
                    throw url.invalid("unknown parameter '\(key)' (mdns:// takes interface, resolve, settle)")
                }
            }
        }

        /// The most instances of a service type cached from the link, unless SDCTL_MAX_INSTANCES
        /// says otherwise: any host on the link can announce, so the bound is far below the
        /// other backends' (a server answer's) 200,000.
        static let defaultMaximumInstances = 1000

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let instances =
                context.maximumInstances == Instance.defaultMaximumPerAnswer
                ? Self.defaultMaximumInstances : context.maximumInstances
            _ = try mapping { try MDNSInstancer.interfaces(named: interface) }
            // Four records an instance: PTR, SRV, TXT and an address.
            return MDNSInstancer(
                configuration: MDNSInstancer.Configuration(
                    serviceType: serviceType, interface: interface, resolve: resolve, settle: settle,
                    maximumRecords: min(instances, Int.max / 4) * 4),
                logger: context.logger)
        }

        /// `ttl` sets every record's TTL (the time a registration outlives a killed process in
        /// other hosts' caches); without it, RFC 6762's 120 s and 75 minutes.
        func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
            -> any Registrar
        {
            var configuration = MDNSRegistrar.Configuration(serviceType: serviceType, interface: interface)
            if let ttl {
                let seconds = UInt32(clamping: max(ttl.components.seconds, 1))
                configuration.hostTTL = seconds
                configuration.otherTTL = seconds
            }
            return try mapping {
                try MDNSRegistrar(configuration: configuration, instance: instance, logger: context.logger)
            }
        }

        /// For `bench propagation`: each registrar claims its name (probing) before the timed
        /// round, which then times the announcement; without address resolution, instances are
        /// seen as `HOST.local:PORT`.
        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            guard resolve != .aaaa else {
                throw CLIError(
                    .usage,
                    "bench propagation registers 127.0.0.1 addresses, which mdns://...?resolve=aaaa never shows; use resolve=a, any or none"
                )
            }
            let resolving = resolve != .none
            return RegistrarFactory(
                make: { instance throws(CLIError) in try makeRegistrar(for: instance, ttl: nil, context) },
                close: {},
                preparation: RegistrarFactory.Preparation(
                    name: "claim (probing)", key: "claim",
                    run: { registrar in try await (registrar as? MDNSRegistrar)?.claim() }),
                seenAs: { registrar in
                    guard !resolving, let registrar = registrar as? MDNSRegistrar else {
                        return registrar.instance.address
                    }
                    return registrar.target
                        + ":\((try? HostPort(parsing: registrar.instance.address))?.port ?? 0)"
                })
        }

        /// mDNS has no registry to remove from: a registration is the process answering for it.
        func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
            throw CLIError(
                .usage,
                "mdns:// registrations belong to the process answering for them: stop that `sdctl register` (it sends goodbyes)"
            )
        }
    }
#endif  // DNS

extension BackendDescription {
    static let mdns: BackendDescription = {
        #if DNS
            let implementation: (any DiscoveryBackend.Type)? = MDNSBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "mDNS", trait: "DNS", schemes: ["mdns"], usesEventLoops: false, shortForm: "mdns://",
            targets: [
                CommandTable.Entry(
                    "mdns://_http._tcp.local",
                    "DNS-SD instances over multicast DNS on the local link (?interface=NAME); register publishes one while it runs"
                )
            ],
            environment: [],
            implementation: implementation)
    }()
}
