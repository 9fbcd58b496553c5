// Built with the package trait Kubernetes (on by default; Package.swift).
#if Kubernetes
    import Discovery
    import KubernetesDiscovery

    /// `k8s://[HOST[:PORT]]/NAMESPACE/SERVICE[?port=NAME|NUMBER&include=ready|serving|terminating]`
    /// (`k8ss://` for TLS): the endpoints of a Service, from its EndpointSlices, listed and
    /// watched.
    ///
    /// With a host, that API server (port 8080 for `k8s://`, 6443 for `k8ss://`). Without one,
    /// the in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and the
    /// service account's token (read again as it rotates) and CA certificate, from
    /// /var/run/secrets/kubernetes.io/serviceaccount (SDCTL_K8S_SERVICE_ACCOUNT names another
    /// directory). Read-only: Kubernetes owns a Service's endpoints; `bench propagation` changes
    /// them by writing EndpointSlices of its own (``EndpointSliceRegistrar``).
    struct KubernetesBackend: ChangeMakingBackend, Equatable {
        static var backendDescription: BackendDescription { .kubernetes }
        static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

        let configuration: KubernetesClient.Configuration
        let namespace: String
        let service: String
        var selection = KubernetesEndpointSelection()
        let tls: Bool
        /// The kubeconfig context `context=` names.
        var context: String?
        var scheme: String { tls ? "k8ss" : "k8s" }

        init(url: TargetURL, environment: [String: String]) throws(CLIError) {
            tls = url.scheme == "k8ss"
            let components = url.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard components.count == 2, components.allSatisfy(Self.isName) else {
                throw url.invalid(
                    "\(url.scheme):// needs /NAMESPACE/SERVICE, lower-case names like /default/web")
            }
            namespace = String(components[components.startIndex])
            service = String(components[components.startIndex + 1])
            for (key, value) in url.parameters {
                switch key {
                case "port":
                    guard let value, !value.isEmpty else {
                        throw url.invalid("port= takes a port name or number")
                    }
                    if let number = Int(value) {
                        guard (1...65535).contains(number) else {
                            throw url.invalid("port \(value) is out of range")
                        }
                        selection.port = .number(number)
                    } else {
                        guard Self.isName(Substring(value)) else {
                            throw url.invalid("'\(value)' is not a port name")
                        }
                        selection.port = .named(value)
                    }
                case "context":
                    guard let value, !value.isEmpty else {
                        throw url.invalid("context= takes a kubeconfig context's name")
                    }
                    context = value
                case "include":
                    guard let value, let include = KubernetesEndpointSelection.Inclusion(rawValue: value)
                    else {
                        throw url.invalid("include= takes ready, serving or terminating")
                    }
                    selection.include = include
                default:
                    throw url.invalid("unknown query parameter '\(key)' (known: port, include, context)")
                }
            }
            if url.authority.isEmpty {
                let inCluster = environment["KUBERNETES_SERVICE_HOST"].map { !$0.isEmpty } ?? false
                configuration =
                    context == nil && inCluster
                    ? try Self.inCluster(environment, url: url)
                    : try Self.kubeconfig(environment, context: context, url: url)
            } else if context != nil {
                throw url.invalid(
                    "context= picks a kubeconfig context: it is for targets without a host (\(url.scheme):///NAMESPACE/SERVICE)"
                )
            } else {
                let server = try url.host(defaultPort: tls ? 6443 : 8080)
                configuration = KubernetesClient.Configuration(server: tls ? .https(server) : .http(server))
            }
        }

        /// Namespaces, Services and port names are DNS labels (RFC 1123).
        static func isName(_ text: Substring) -> Bool {
            !text.isEmpty && text.count <= 63 && text.first != "-" && text.last != "-"
                && text.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
        }

        /// The API server and credentials a pod has: the service's address in the environment,
        /// the service account's token and CA in files.
        static func inCluster(_ environment: [String: String], url: TargetURL) throws(CLIError)
            -> KubernetesClient.Configuration
        {
            guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
                throw url.invalid(
                    "\(url.scheme):/// without a host works inside a cluster (KUBERNETES_SERVICE_HOST is not set); elsewhere name the API server: \(url.scheme)://HOST:PORT/NAMESPACE/SERVICE"
                )
            }
            let portText = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
            guard let port = UInt16(portText), port > 0 else {
                throw CLIError(.usage, "KUBERNETES_SERVICE_PORT '\(portText)' is not a port")
            }
            let server: HostPort
            do {
                server = try HostPort(parsing: HostPort(host: host, port: port).description)
            } catch {
                throw CLIError(.usage, "KUBERNETES_SERVICE_HOST '\(host)' is not a host: \(error.message)")
            }
            let directory =
                environment["SDCTL_K8S_SERVICE_ACCOUNT"].flatMap { $0.isEmpty ? nil : $0 }
                ?? serviceAccountDirectory
            // Always TLS: the API server's in-cluster service has no plain-HTTP port.
            return KubernetesClient.Configuration(
                server: .https(server), tls: .init(caFile: directory + "/ca.crt"),
                credentials: .tokenFile(directory + "/token"))
        }

        /// The cluster and user of a kubeconfig context: KUBECONFIG's files merged, else
        /// ~/.kube/config. `k8ss:///` insists on TLS.
        static func kubeconfig(_ environment: [String: String], context: String?, url: TargetURL)
            throws(CLIError)
            -> KubernetesClient.Configuration
        {
            let configuration: KubernetesClient.Configuration
            do {
                let kubeconfig = try Kubeconfig.load(paths: Kubeconfig.paths(environment: environment))
                configuration = try kubeconfig.clientConfiguration(context: context)
            } catch {
                throw CLIError(
                    .usage,
                    error.message
                        + (error.message.hasPrefix("k8s: no kubeconfig")
                            ? "; outside a cluster, name a kubeconfig with KUBECONFIG or the API server: \(url.scheme)://HOST:PORT/NAMESPACE/SERVICE"
                            : ""),
                    cause: error)
            }
            if url.scheme == "k8ss", case .http(let server) = configuration.server {
                throw url.invalid("k8ss:// asks for TLS, but the kubeconfig's server is http://\(server)")
            }
            return configuration
        }

        func makeInstancer(_ context: CommandContext) throws(CLIError) -> any Instancer {
            let client = try mapping { try KubernetesClient(configuration, logger: context.logger) }
            return ConnectionOwningInstancer(
                base: KubernetesInstancer(
                    client: client, namespace: namespace, service: service,
                    configuration: .init(selection: selection, maximumInstances: context.maximumInstances),
                    logger: context.logger),
                close: { client.close() })
        }

        /// For `bench propagation`: each instance becomes an EndpointSlice of its own in the
        /// Service, on the port `port=` names (unnamed without one), through one client.
        func makeRegistrars(_ context: CommandContext) throws(CLIError) -> RegistrarFactory {
            let client = try mapping { try KubernetesClient(configuration, logger: context.logger) }
            let (namespace, service) = (namespace, service)
            var portName: String?
            if case .named(let name) = selection.port { portName = name }
            return RegistrarFactory(
                make: { [portName] instance throws(CLIError) in
                    try mapping {
                        try EndpointSliceRegistrar(
                            client: client, namespace: namespace, service: service, instance: instance,
                            portName: portName)
                    }
                },
                close: { client.close() })
        }

        /// An unknown Service or namespace is "no instances" (3), with the reason.
        func cliError(_ error: DiscoveryError) -> CLIError {
            error.code == .notFound ? CLIError(.noInstances, error.message, cause: error) : CLIError(error)
        }
    }
#endif  // Kubernetes

extension BackendDescription {
    static let kubernetes: BackendDescription = {
        #if Kubernetes
            let implementation: (any DiscoveryBackend.Type)? = KubernetesBackend.self
        #else
            let implementation: (any DiscoveryBackend.Type)? = nil
        #endif
        return BackendDescription(
            name: "Kubernetes", trait: "Kubernetes", schemes: ["k8s", "k8ss"], usesEventLoops: true,
            shortForm: "k8s://",
            targets: [
                CommandTable.Entry(
                    "k8s://HOST:PORT/NAMESPACE/SERVICE",
                    "a Service's endpoints from its EndpointSlices (k8ss:// for TLS; ?port=NAME|NUMBER, ?include=serving|terminating); read-only"
                ),
                CommandTable.Entry(
                    "k8s:///NAMESPACE/SERVICE",
                    "the same, through the service account inside a cluster, else the kubeconfig's current context"
                ),
                CommandTable.Entry(
                    "k8s:///NAMESPACE/SERVICE?context=NAME",
                    "a kubeconfig context's cluster and user (KUBECONFIG)"),
            ],
            environment: [
                CommandTable.Entry(
                    "KUBECONFIG",
                    "kubeconfig files for k8s:/// targets, ':'-separated (default ~/.kube/config)"),
                CommandTable.Entry(
                    "KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT",
                    "the API server for k8s:/// targets inside a cluster"),
                CommandTable.Entry(
                    "SDCTL_K8S_SERVICE_ACCOUNT",
                    "the service account's directory (token, ca.crt; default /var/run/secrets/kubernetes.io/serviceaccount)"
                ),
            ],
            implementation: implementation,
            readOnlyAdvice: "Kubernetes owns a Service's endpoints: they follow its pods' readiness")
    }()
}
