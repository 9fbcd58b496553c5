// Built with the package trait Eureka (on by default; Package.swift).
#if Eureka
    import Discovery
    import EurekaDiscovery

    /// `eureka://[user@]h:8761/eureka/apps/WEB[?status=all&secure=true&interval=30s&vip=web]`
    /// (`eurekas://` for https): the UP instances of an app, polled from a Eureka server, whose base
    /// path is what comes before `/apps` (`/eureka` for Spring Cloud, `/eureka/v2` for Netflix).
    /// Basic auth: the user from the URL or EUREKA_USER, the password from EUREKA_PASSWORD or the
    /// first line of EUREKA_PASSWORD_FILE, never from the URL. EUREKA_CACERT, EUREKA_CLIENT_CERT and
    /// EUREKA_CLIENT_KEY for TLS. `register --drain D` marks the instance OUT_OF_SERVICE for D
    /// before cancelling it (its registrar is an ``OutOfServiceRegistrar``; docs/eureka.md).
    struct EurekaBackend: RegisteringBackend, Equatable {
        static var backendDescription: BackendDescription { .eureka }
        let server: HostPort
        /// Before `/apps`.
        let basePath: String
        let app: String
        let tls: Bool
        var username: String?
        var statuses: Set<EurekaStatus>? = [.up]
        var secure = false
        var interval: Duration = .seconds(30)
        var vipAddress: String?
        /// The EUREKA_* variables, read when a client is made.
        var environment: [String: String] = [:]
        var scheme: String { tls ? "eurekas" : "eureka" }
        var pollInterval: Duration? { interval }

        init(server: HostPort, basePath: String, app: String, tls: Bool) {
            self.server = server
            self.basePath = basePath
            self.app = app
            self.tls = tls
        }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            var authority = url.authority
            if let at = authority.lastIndex(of: "@") {
                let user = authority[..<at]
                guard !user.contains(":") else {
                    throw url.invalid(
                        "passwords never go in the URL: set EUREKA_PASSWORD or EUREKA_PASSWORD_FILE")
                }
                guard !user.isEmpty else { throw url.invalid("empty user name before '@'") }
                username = String(user)
                authority = String(authority[authority.index(after: at)...])
            }
            // The host without the user, for the shared host checks; messages show the URL as given.
            let bare = try TargetURL(url.text, scheme: url.scheme, rest: Substring(authority + url.path))
            server = try bare.host(defaultPort: 8761)
            let components = url.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard components.count >= 2, components[components.endIndex - 2] == "apps",
                let last = components.last,
                !last.isEmpty,
                last.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
                !components.dropLast().contains("")
            else {
                throw url.invalid("\(url.scheme):// needs a path ending in /apps/APP, like /eureka/apps/WEB")
            }
            basePath = components.count > 2 ? "/" + components.dropLast(2).joined(separator: "/") : ""
            app = last.uppercased()
            tls = url.scheme == "eurekas"
            for (key, value) in url.parameters {
                switch key {
                case "status":
                    guard let value, !value.isEmpty else {
                        throw url.invalid("status= takes all or a list like UP,STARTING")
                    }
                    if value == "all" {
                        statuses = nil
                    } else {
                        var chosen: Set<EurekaStatus> = []
                        for name in value.split(separator: ",") {
                            guard let status = EurekaStatus(rawValue: name.uppercased()) else {
                                throw url.invalid(
                                    "unknown status '\(name)' (known: all, \(EurekaStatus.allCases.map(\.rawValue).joined(separator: ", ")))"
                                )
                            }
                            chosen.insert(status)
                        }
                        statuses = chosen
                    }
                case "secure":
                    switch value {
                    case nil, "true", "1": secure = true
                    case "false", "0": secure = false
                    default: throw url.invalid("secure takes true or false")
                    }
                case "interval":
                    guard let value, let duration = DurationParser.parse(value), duration >= .seconds(1)
                    else {
                        throw url.invalid("interval= takes a duration of at least 1s, such as 30s")
                    }
                    interval = duration
                case "vip":
                    guard let value, !value.isEmpty else { throw url.invalid("vip needs a value") }
                    vipAddress = value
                default:
                    throw url.invalid(
                        "unknown query parameter '\(key)' (known: status, secure, interval, vip)")
                }
            }
            self.environment = environment.filter { $0.key.hasPrefix("EUREKA_") }
            _ = try configuration()
        }

        /// The client configuration, credentials and TLS files from the environment.
        func configuration() throws(CLIError) -> EurekaClient.Configuration {
            func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
            var password = value("EUREKA_PASSWORD")
            if let file = value("EUREKA_PASSWORD_FILE") {
                guard let line = try? TextFile.firstLine(of: file), !line.isEmpty else {
                    throw CLIError(.usage, "cannot read EUREKA_PASSWORD_FILE '\(file)'")
                }
                password = line
            }
            let user = username ?? value("EUREKA_USER")
            if password != nil, user == nil {
                throw CLIError(
                    .usage, "a Eureka password needs a user: eureka://USER@host/... or EUREKA_USER")
            }
            let tlsFiles = EurekaClient.Configuration.TLS(
                caFile: value("EUREKA_CACERT"), certificateFile: value("EUREKA_CLIENT_CERT"),
                keyFile: value("EUREKA_CLIENT_KEY"))
            if (tlsFiles.certificateFile == nil) != (tlsFiles.keyFile == nil) {
                throw CLIError(
                    .usage, "a client certificate needs both EUREKA_CLIENT_CERT and EUREKA_CLIENT_KEY")
            }
            return EurekaClient.Configuration(
                server: tls ? .https(server) : .http(server), basePath: basePath, username: user,
                password: password,
                tls: tlsFiles)
        }

        func makeClient(_ context: CommandContext) throws(CLIError) -> EurekaClient {
            var configuration = try configuration()
            configuration.maximumInstances = context.maximumInstances
            do {
                return try EurekaClient(configuration, logger: context.logger)
            } catch {
                throw cliError(error)
            }
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let client = try makeClient(context)
            return ConnectionOwningInstancer(
                base: EurekaInstancer(
                    client: client, app: app,
                    configuration: .init(interval: interval, statuses: statuses, secure: secure),
                    logger: context.logger),
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
            for instance: Instance, ttl: Duration?, client: EurekaClient, _ context: CommandContext
        ) throws(CLIError) -> EurekaRegistrar {
            try mapping {
                try EurekaRegistrar(
                    client: client, app: app, instance: instance,
                    configuration: .init(leaseDuration: ttl ?? .seconds(90), vipAddress: vipAddress),
                    logger: context.logger)
            }
        }

        func deregister(idOrAddress: String, _ context: CommandContext) async throws(CLIError) -> [String] {
            let client = try makeClient(context)
            defer { client.close() }
            do {
                return try await EurekaMaintenance.remove(idOrAddress: idOrAddress, app: app, client: client)
            } catch {
                throw cliError(error)
            }
        }
    }
#endif  // Eureka

extension BackendDescription {
    static let eureka: BackendDescription = {
        #if Eureka
            let implementation: (any DiscoveryBackend.Type)? = EurekaBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "Eureka", trait: "Eureka", schemes: ["eureka", "eurekas"], usesEventLoops: true,
            shortForm: "eureka://",
            targets: [
                CommandTable.Entry(
                    "eureka://H:8761/eureka/apps/WEB",
                    "Eureka: the UP instances of an app (?secure=true for HTTPS)")
            ],
            environment: [
                CommandTable.Entry(
                    "EUREKA_USER, EUREKA_PASSWORD, EUREKA_PASSWORD_FILE", "Eureka basic authentication"),
                CommandTable.Entry(
                    "EUREKA_CACERT, EUREKA_CLIENT_CERT, EUREKA_CLIENT_KEY",
                    "Eureka TLS: the CA, and a client certificate and key"),
            ],
            implementation: implementation)
    }()
}
