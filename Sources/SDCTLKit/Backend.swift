import Discovery
import EtcdDiscovery
import FileDiscovery
import Logging
import ZooKeeperDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// Builds the toolkit's instancers and registrars for a ``Target``.
enum Backend {
    static func unavailable(_ target: Target) -> CLIError {
        CLIError(.failure, "backend '\(target.scheme)' is not available in this build of sdctl")
    }

    static func instancer(for target: Target, _ context: CommandContext) throws(CLIError) -> any Instancer {
        switch target {
        case .file(let directory):
            return FileInstancer(directory: directory, logger: context.logger)
        case .zookeeper(let hosts, let path):
            let client = try zookeeperClient(hosts, context, sessionTimeout: nil)
            return ZooKeeperInstancer(
                client: client, path: path, connectTimeout: context.connectGrace, ownsClient: true,
                logger: context.logger)
        case .etcd(let endpoints, let prefix, let tls):
            let client = try etcdClient(endpoints, tls: tls, context)
            return EtcdInstancer(client: client, prefix: prefix, ownsClient: true, logger: context.logger)
        default:
            throw unavailable(target)
        }
    }

    static func registrar(for target: Target, instance: Instance, ttl: Duration?, _ context: CommandContext)
        throws(CLIError) -> any Registrar
    {
        do {
            switch target {
            case .file(let directory):
                return try FileRegistrar(directory: directory, instance: instance, logger: context.logger)
            case .zookeeper(let hosts, let path):
                let client = try zookeeperClient(hosts, context, sessionTimeout: ttl)
                return try ZooKeeperRegistrar(
                    client: client, path: path, instance: instance,
                    connectTimeout: context.timeout ?? .seconds(10),
                    ownsClient: true, logger: context.logger)
            case .etcd(let endpoints, let prefix, let tls):
                let client = try etcdClient(endpoints, tls: tls, context)
                return try EtcdRegistrar(
                    client: client, prefix: prefix, instance: instance, ttl: ttl ?? .seconds(10),
                    ownsClient: true,
                    logger: context.logger)
            default:
                throw unavailable(target)
            }
        } catch let error as DiscoveryError {
            throw CLIError(error)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(.failure, "\(error)")
        }
    }

    /// Makes registrars for one target that share one backend connection (for `bench
    /// propagation`, whose rounds must time registration, not connecting); `close` ends it.
    static func registrars(for target: Target, _ context: CommandContext) throws(CLIError) -> (
        make: @Sendable (Instance) throws(CLIError) -> any Registrar, close: @Sendable () -> Void
    ) {
        switch target {
        case .zookeeper(let hosts, let path):
            let client = try zookeeperClient(hosts, context, sessionTimeout: nil)
            let logger = context.logger
            let make: @Sendable (Instance) throws(CLIError) -> any Registrar = { instance throws(CLIError) in
                do throws(DiscoveryError) {
                    return try ZooKeeperRegistrar(
                        client: client, path: path, instance: instance, logger: logger)
                } catch {
                    throw CLIError(error)
                }
            }
            return (make, { client.close() })
        case .etcd(let endpoints, let prefix, let tls):
            let client = try etcdClient(endpoints, tls: tls, context)
            let logger = context.logger
            let make: @Sendable (Instance) throws(CLIError) -> any Registrar = { instance throws(CLIError) in
                do throws(DiscoveryError) {
                    return try EtcdRegistrar(
                        client: client, prefix: prefix, instance: instance, logger: logger)
                } catch {
                    throw CLIError(error)
                }
            }
            return (make, { client.close() })
        default:
            let make: @Sendable (Instance) throws(CLIError) -> any Registrar = { instance throws(CLIError) in
                try registrar(for: target, instance: instance, ttl: nil, context)
            }
            return (make, {})
        }
    }

    /// Removes registrations by id or address; returns the ids removed.
    static func deregister(_ target: Target, idOrAddress: String, _ context: CommandContext)
        async throws(CLIError)
        -> [String]
    {
        switch target {
        case .file(let directory):
            do {
                return try directory.remove(idOrAddress: idOrAddress)
            } catch {
                throw CLIError(error)
            }
        case .zookeeper(let hosts, let path):
            let client = try zookeeperClient(hosts, context, sessionTimeout: nil)
            defer { client.close() }
            do {
                try await client.waitUntilConnected(timeout: context.timeout ?? .seconds(10))
                return try await ZooKeeperMaintenance.remove(
                    idOrAddress: idOrAddress, under: path, client: client)
            } catch {
                throw CLIError(error.discoveryError)
            }
        case .etcd(let endpoints, let prefix, let tls):
            let client = try etcdClient(endpoints, tls: tls, context)
            defer { client.close() }
            do {
                return try await EtcdMaintenance.remove(
                    idOrAddress: idOrAddress, prefix: prefix, client: client)
            } catch {
                throw CLIError(error)
            }
        default:
            throw unavailable(target)
        }
    }

    /// An etcd client with etcdctl's environment: ETCDCTL_USER (`user` or `user:password`),
    /// ETCDCTL_PASSWORD, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY (never from the command line).
    static func etcdClient(_ endpoints: [HostPort], tls: Bool, _ context: CommandContext) throws(CLIError)
        -> EtcdClient
    {
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
        let configuration = EtcdClient.Configuration(
            endpoints: endpoints,
            tls: useTLS
                ? EtcdClient.TLS(
                    caFile: certificates[0], certificateFile: certificates[1], keyFile: certificates[2])
                : nil,
            username: username, password: password)
        do {
            return try EtcdClient(configuration, logger: context.logger)
        } catch {
            throw CLIError(error)
        }
    }

    /// A client for `hosts`, with digest credentials from SDCTL_ZK_DIGEST or the file named by
    /// SDCTL_ZK_DIGEST_FILE (never from the command line).
    static func zookeeperClient(_ hosts: [HostPort], _ context: CommandContext, sessionTimeout: Duration?)
        throws(CLIError) -> ZooKeeperClient
    {
        var digest = context.environment["SDCTL_ZK_DIGEST"].flatMap { $0.isEmpty ? nil : $0 }
        if digest == nil, let file = context.environment["SDCTL_ZK_DIGEST_FILE"], !file.isEmpty {
            guard let text = readSecret(file) else {
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
        do {
            return try ZooKeeperClient(configuration, logger: context.logger)
        } catch {
            throw CLIError(error.discoveryError)
        }
    }

    /// The first line of a file, without its line end.
    static func readSecret(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return line.split(whereSeparator: \.isNewline).first.map(String.init)
    }
}
