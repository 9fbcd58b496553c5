import Discovery
import DiscoveryHTTP

extension ConsulClient.Configuration {
    /// The configuration the `consul` CLI builds from its environment:
    /// - CONSUL_HTTP_ADDR: `host:port`, `http://host:port`, `https://host:port` or
    ///   `unix:///path` (default `127.0.0.1:8500`; no port means 80 or 443, as a URL without one
    ///   does in the CLI); CONSUL_HTTP_SSL=true makes a bare address https;
    /// - CONSUL_HTTP_TOKEN_FILE (its first line, which wins, as in the CLI) or CONSUL_HTTP_TOKEN;
    ///   CONSUL_HTTP_AUTH (`user:password`);
    /// - CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
    ///   CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY (`false` skips verification).
    ///
    /// Malformed values are `DiscoveryError/Code/invalidArgument` errors naming the variable,
    /// where the CLI would only log a warning (an unparsable CONSUL_HTTP_SSL_VERIFY turns
    /// verification off in the CLI; here it is an error).
    public init(environment: [String: String]) throws(DiscoveryError) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func invalid(_ name: String, _ why: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "\(name): \(why)")
        }
        func flag(_ name: String) throws(DiscoveryError) -> Bool? {
            guard let text = value(name) else { return nil }
            guard let parsed = GoSyntax.bool(text) else {
                throw invalid(name, "'\(text)' is not true or false")
            }
            return parsed
        }
        self.init()
        if let address = value("CONSUL_HTTP_ADDR") {
            self.address = try Self.address(parsing: address, https: try flag("CONSUL_HTTP_SSL") ?? false)
        } else if try flag("CONSUL_HTTP_SSL") == true {
            self.address = .https(HostPort(host: "127.0.0.1", port: 8500))
        }
        if let file = value("CONSUL_HTTP_TOKEN_FILE") {
            guard let line = try? TextFile.firstLine(of: file) else {
                throw invalid("CONSUL_HTTP_TOKEN_FILE", "cannot read '\(file)'")
            }
            token = line.isEmpty ? value("CONSUL_HTTP_TOKEN") : line
        } else {
            token = value("CONSUL_HTTP_TOKEN")
        }
        basicAuthentication = value("CONSUL_HTTP_AUTH")
        tls = TLS(
            caFile: value("CONSUL_CACERT"), caDirectory: value("CONSUL_CAPATH"),
            certificateFile: value("CONSUL_CLIENT_CERT"), keyFile: value("CONSUL_CLIENT_KEY"),
            serverName: value("CONSUL_TLS_SERVER_NAME"), verify: try flag("CONSUL_HTTP_SSL_VERIFY") ?? true)
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            throw invalid(
                tls.keyFile == nil ? "CONSUL_CLIENT_CERT" : "CONSUL_CLIENT_KEY",
                "a client certificate needs both CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY")
        }
    }

    /// Parses an agent address as CONSUL_HTTP_ADDR takes it.
    public static func address(parsing text: String, https: Bool = false) throws(DiscoveryError) -> Address {
        func invalid(_ why: String) -> DiscoveryError {
            DiscoveryError(.invalidArgument, "CONSUL_HTTP_ADDR '\(text)': \(why)")
        }
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else {
                throw invalid("a Unix socket path must be absolute: unix:///path")
            }
            return .unix(path)
        }
        var rest = Substring(text)
        var secure = https
        if rest.hasPrefix("https://") {
            secure = true
            rest = rest.dropFirst("https://".count)
        } else if rest.hasPrefix("http://") {
            secure = false
            rest = rest.dropFirst("http://".count)
        } else if rest.contains("://") {
            throw invalid("the scheme must be http, https or unix")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let agent: HostPort
        do {
            agent = try HostPort(parsing: String(rest), defaultPort: secure ? 443 : 80)
        } catch {
            throw invalid(error.message)
        }
        return secure ? .https(agent) : .http(agent)
    }
}
