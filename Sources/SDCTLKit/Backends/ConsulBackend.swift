// Built with the package trait Consul (on by default; Package.swift).
#if Consul
    import ConsulDiscovery
    import Discovery

    /// `consul://h:8500/web?tag=prod&tag=eu&passing=false&dc=dc2&stale&near=_agent&wait=5m`
    /// (`consuls://` for https): the healthy instances of a service, read through an agent's
    /// blocking health queries and registered with that agent. Without a host the agent is
    /// CONSUL_HTTP_ADDR's; tokens and TLS files always come from the consul CLI's environment
    /// (docs/consul.md). Registration takes `check-http=URL` or `check-tcp=host:port` with
    /// `check-interval` instead of the default TTL check, and `deregister-after`.
    struct ConsulBackend: RegisteringBackend, Equatable {
        static var backendDescription: BackendDescription { .consul }
        /// The agent named in the URL; `nil` takes CONSUL_HTTP_ADDR.
        let agent: HostPort?
        let query: ConsulHealthQuery
        let tls: Bool
        var wait: Duration = .seconds(300)
        var check: Check = .ttl
        var checkInterval: Duration = .seconds(10)
        /// `nil`: never (`deregister-after=never`).
        var deregisterAfter: Duration? = .seconds(60)
        /// The consul CLI's variables, read when a client is made.
        var environment: [String: String] = [:]
        var scheme: String { tls ? "consuls" : "consul" }

        enum Check: Equatable {
            case ttl
            case http(String)
            case tcp(String)
        }

        init(agent: HostPort?, query: ConsulHealthQuery, tls: Bool) {
            self.agent = agent
            self.query = query
            self.tls = tls
        }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            agent =
                url.authority.isEmpty ? nil : try url.host(defaultPort: url.scheme == "consuls" ? 8501 : 8500)
            tls = url.scheme == "consuls"
            let service = url.path.dropFirst()
            guard url.path.hasPrefix("/"), !service.isEmpty, !service.contains("/") else {
                throw url.invalid("\(url.scheme):// needs a service name: consul://host:8500/web")
            }
            var query = ConsulHealthQuery(service: String(service))
            func flag(_ key: Substring, _ value: String?) throws(CLIError) -> Bool {
                switch value {
                case nil, "true", "1": return true
                case "false", "0": return false
                default: throw url.invalid("\(key) takes true or false")
                }
            }
            func duration(_ key: Substring, _ value: String?, least: Duration) throws(CLIError) -> Duration {
                guard let value, let duration = DurationParser.parse(value), duration >= least else {
                    throw url.invalid(
                        "\(key)= takes a duration of at least \(DurationParser.format(least)), such as 10s")
                }
                return duration
            }
            for (key, value) in url.parameters {
                switch key {
                case "tag":
                    guard let value, !value.isEmpty else { throw url.invalid("tag needs a value: ?tag=prod") }
                    query.tags.append(value)
                case "passing": query.passingOnly = try flag(key, value)
                case "stale": query.stale = try flag(key, value)
                case "dc", "near":
                    guard let value, !value.isEmpty else { throw url.invalid("\(key) needs a value") }
                    if key == "dc" { query.datacenter = value } else { query.near = value }
                case "wait":
                    wait = try duration(key, value, least: .seconds(1))
                    guard wait <= .seconds(600) else {
                        throw url.invalid("wait= is at most 10m (Consul's limit)")
                    }
                case "check-http":
                    guard let value, value.hasPrefix("http://") || value.hasPrefix("https://") else {
                        throw url.invalid("check-http= takes an http:// or https:// URL")
                    }
                    check = .http(value)
                case "check-tcp":
                    guard let value, (try? HostPort(parsing: value)) != nil else {
                        throw url.invalid("check-tcp= takes host:port")
                    }
                    check = .tcp(value)
                case "check-interval": checkInterval = try duration(key, value, least: .seconds(1))
                case "deregister-after":
                    deregisterAfter = value == "never" ? nil : try duration(key, value, least: .seconds(60))
                default:
                    throw url.invalid(
                        "unknown query parameter '\(key)' (known: tag, passing, dc, stale, near, wait, check-http, check-tcp, check-interval, deregister-after)"
                    )
                }
            }
            self.query = query
            self.environment = environment.filter { $0.key.hasPrefix("CONSUL_") }
            // Bad CONSUL_* values are usage errors now, not at the first request.
            _ = try configuration()
        }

        /// The client configuration: the URL's agent, else CONSUL_HTTP_ADDR; the rest from the
        /// environment.
        func configuration() throws(CLIError) -> ConsulClient.Configuration {
            var configuration: ConsulClient.Configuration
            do {
                configuration = try ConsulClient.Configuration(environment: environment)
            } catch {
                throw CLIError(error)
            }
            if let agent {
                configuration.address = tls ? .https(agent) : .http(agent)
            } else if tls, case .http(let agent) = configuration.address {
                guard environment["CONSUL_HTTP_ADDR"]?.hasPrefix("http://") != true else {
                    throw CLIError.usage(
                        "consuls:/// but CONSUL_HTTP_ADDR is http://: use consul:/// or an https:// address")
                }
                configuration.address = .https(agent)
            }
            return configuration
        }

        func makeClient(_ context: CommandContext) throws(CLIError) -> ConsulClient {
            var configuration = try configuration()
            configuration.maximumInstances = context.maximumInstances
            do {
                return try ConsulClient(configuration, logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let client = try makeClient(context)
            return ConnectionOwningInstancer(
                base: ConsulInstancer(
                    client: client, query: query, configuration: .init(wait: wait), logger: context.logger),
                close: { client.close() })
        }

        func makeRegistrar(for instance: Instance, ttl: Duration?, _ context: CommandContext) throws(CLIError)
            -> any Registrar
        {
            let client = try makeClient(context)
            return try ConnectionOwningRegistrar.owning(close: { client.close() }) { () throws(CLIError) in
                try registrar(for: instance, ttl: ttl, client: client, context)
            }
        }

        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            let client = try makeClient(context)
            return RegistrarFactory(
                make: { instance throws(CLIError) in
                    try registrar(for: instance, ttl: nil, client: client, context)
                },
                close: { client.close() })
        }

        private func registrar(
            for instance: Instance, ttl: Duration?, client: ConsulClient, _ context: CommandContext
        ) throws(CLIError) -> ConsulRegistrar {
            let kind: ConsulServiceRegistration.Check =
                switch check {
                case .ttl: .ttl(ttl ?? .seconds(10))
                case .http(let url): .http(url: url, interval: checkInterval)
                case .tcp(let address): .tcp(address: address, interval: checkInterval)
                }
            return try mapping {
                try ConsulRegistrar(
                    client: client, service: query.service, instance: instance,
                    configuration: .init(check: kind, deregisterCriticalServiceAfter: deregisterAfter),
                    logger: context.logger)
            }
        }

        func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
            let client = try makeClient(context)
            defer { client.close() }
            do {
                return try await ConsulMaintenance.remove(
                    idOrAddress: idOrAddress, service: query.service, client: client)
            } catch {
                throw cliError(error)
            }
        }
    }
#endif  // Consul

extension BackendDescription {
    static let consul: BackendDescription = {
        #if Consul
            let implementation: (any DiscoveryBackend.Type)? = ConsulBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "Consul", trait: "Consul", schemes: ["consul", "consuls"], usesEventLoops: true,
            shortForm: "consul://",
            targets: [
                CommandTable.Entry(
                    "consul://H:8500/web?tag=prod&dc=dc1",
                    "Consul: the passing instances of a service, by blocking health queries (consuls:// for TLS)"
                )
            ],
            environment: [
                CommandTable.Entry(
                    "CONSUL_HTTP_ADDR",
                    "the Consul agent for a consul:/// target without a host (also unix:///PATH)"),
                CommandTable.Entry(
                    "CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE", "the Consul ACL token, or a file holding it"),
                CommandTable.Entry("CONSUL_HTTP_AUTH", "HTTP basic credentials user:password for the agent"),
                CommandTable.Entry(
                    "CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY",
                    "use HTTPS; verify the agent's certificate (default true)"),
                CommandTable.Entry(
                    "CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME",
                    "Consul TLS: CA file or directory, client certificate and key, the name to verify"),
            ],
            implementation: implementation)
    }()
}
