import Discovery

extension Kubeconfig {
    /// The name of the context `context` or, without one, the current context.
    public func contextName(_ context: String? = nil) throws(DiscoveryError) -> String {
        guard let name = context ?? currentContext else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: kubeconfig \(files.joined(separator: ", ")) has no current-context; name one with ?context=NAME\(known)"
            )
        }
        guard contexts[name] != nil else {
            throw DiscoveryError(.invalidArgument, "k8s: kubeconfig: no context named '\(name)'\(known)")
        }
        return name
    }

    private var known: String {
        contexts.isEmpty
            ? " (it defines none)" : " (contexts: \(contexts.keys.sorted().joined(separator: ", ")))"
    }

    /// How to reach and authenticate to the cluster of context `context` (the current context
    /// without one). A user with more than one of token, tokenFile and username/password, with
    /// a certificate and no key, or asking for what sdctl does not do, is
    /// `DiscoveryError/Code/invalidArgument`.
    public func clientConfiguration(context: String? = nil) throws(DiscoveryError)
        -> KubernetesClient.Configuration
    {
        let name = try contextName(context)
        let context = contexts[name]!
        guard let cluster = clusters[context.cluster] else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: kubeconfig: context \(name) names cluster '\(context.cluster)', which is not defined")
        }
        func refuse(_ what: String, _ problem: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "k8s: kubeconfig: \(what) \(problem)")
        }
        guard cluster.unsupported.isEmpty else {
            throw refuse(
                "cluster \(context.cluster)",
                "uses \(cluster.unsupported.joined(separator: " and ")), which sdctl does not support")
        }
        let server = try Self.server(cluster.server, cluster: context.cluster)
        var tls = KubernetesClient.Configuration.TLS(
            caFile: cluster.certificateAuthority, serverName: cluster.tlsServerName,
            verify: !cluster.insecureSkipTLSVerify)
        tls.caData = cluster.certificateAuthorityData
        if cluster.insecureSkipTLSVerify && (tls.caFile != nil || tls.caData != nil) {
            // client-go refuses this too: which of the two was meant is not clear.
            throw refuse(
                "cluster \(context.cluster)", "sets both insecure-skip-tls-verify and a certificate authority"
            )
        }
        var credentials = KubernetesClient.Configuration.Credentials.none
        if let userName = context.user {
            guard let user = users[userName] else {
                throw refuse("context \(name)", "names user '\(userName)', which is not defined")
            }
            guard user.unsupported.isEmpty else {
                throw refuse(
                    "user \(userName)",
                    "uses \(user.unsupported.joined(separator: " and ")), which sdctl does not support yet")
            }
            let bearer = user.token != nil || user.tokenFile != nil
            if bearer && user.username != nil {
                throw refuse(
                    "user \(userName)", "has both a token and a username: use one way to authenticate")
            }
            if user.exec != nil && (bearer || user.username != nil) {
                throw refuse(
                    "user \(userName)",
                    "has both an exec credential plugin and a \(bearer ? "token" : "username"): use one way to authenticate"
                )
            }
            if var plugin = user.exec {
                if user.provideClusterInfo {
                    plugin.clusterInfo = .init(
                        server: cluster.server,
                        certificateAuthorityData: try certificateAuthorityData(cluster),
                        insecureSkipTLSVerify: cluster.insecureSkipTLSVerify,
                        tlsServerName: cluster.tlsServerName)
                }
                credentials = .exec(plugin)
            } else if let tokenFile = user.tokenFile {
                // As client-go: the file, read again as it rotates, over a token beside it.
                credentials = .tokenFile(tokenFile)
            } else if let token = user.token {
                credentials = .token(token)
            } else if let username = user.username {
                credentials = .basic(user: username, password: user.password ?? "")
            }
            let hasCertificate = user.clientCertificate != nil || user.clientCertificateData != nil
            let hasKey = user.clientKey != nil || user.clientKeyData != nil
            guard hasCertificate == hasKey else {
                throw refuse(
                    "user \(userName)",
                    hasCertificate
                        ? "has a client certificate but no client key"
                        : "has a client key but no client certificate")
            }
            (tls.certificateFile, tls.keyFile) = (user.clientCertificate, user.clientKey)
            (tls.certificateData, tls.keyData) = (user.clientCertificateData, user.clientKeyData)
        }
        return KubernetesClient.Configuration(server: server, tls: tls, credentials: credentials)
    }

    /// `https://HOST[:PORT]` (443 by default) or `http://HOST[:PORT]` (80); a path is refused.
    static func server(_ text: String, cluster: String) throws(DiscoveryError)
        -> KubernetesClient.Configuration.Server
    {
        let https = text.hasPrefix("https://")
        guard https || text.hasPrefix("http://") else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: kubeconfig: cluster \(cluster): server '\(text)' is not an http:// or https:// URL")
        }
        var rest = text.dropFirst(https ? 8 : 7)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("?"), !rest.contains("@") else {
            throw DiscoveryError(
                .invalidArgument,
                "k8s: kubeconfig: cluster \(cluster): server '\(text)' has a path, which sdctl does not support"
            )
        }
        let address: HostPort
        do {
            address = try HostPort(parsing: String(rest), defaultPort: https ? 443 : 80)
        } catch {
            throw DiscoveryError(
                .invalidArgument, "k8s: kubeconfig: cluster \(cluster): server '\(text)': \(error.message)",
                cause: error)
        }
        return https ? .https(address) : .http(address)
    }

    /// The cluster's CA for an exec plugin's `spec.cluster`: its data, or its file's contents.
    private func certificateAuthorityData(_ cluster: Cluster) throws(DiscoveryError) -> [UInt8]? {
        if let data = cluster.certificateAuthorityData { return data }
        guard let path = cluster.certificateAuthority else { return nil }
        do {
            return try TextFile.contents(of: path, limit: Self.maximumFileSize)
        } catch {
            throw DiscoveryError(
                .invalidArgument, "k8s: kubeconfig: cannot read certificate-authority \(path)", cause: error)
        }
    }
}
