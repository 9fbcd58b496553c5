/// What the manual page says beyond the commands: the targets, the environment and the exit
/// codes. Kept beside the command table so that the page, `--help` and the completions are made
/// from one place; docs/targets.md and docs/exit-codes.md say the same at more length.
extension CommandTable {
    /// One `NAME` and what it means, as the manual's tagged paragraphs show it.
    public struct Entry: Sendable {
        public var name: String
        public var meaning: String

        init(_ name: String, _ meaning: String) {
            self.name = name
            self.meaning = meaning
        }
    }

    /// The forms of TARGET, one per backend.
    public static let targets: [Entry] = [
        Entry("web", "a bare name: the file backend, one directory per service under $SDCTL_HOME; no server"),
        Entry("file:///DIR/NAME", "the file backend in a directory of your choice"),
        Entry("zk://H1:2181,H2:2181/services/web", "ZooKeeper: the children of a node, each an instance"),
        Entry("etcd://H1:2379,H2:2379/services/web/", "etcd v3: the keys under a prefix (etcds:// for TLS)"),
        Entry(
            "consul://H:8500/web?tag=prod&dc=dc1",
            "Consul: the passing instances of a service, by blocking health queries (consuls:// for TLS)"),
        Entry(
            "eureka://H:8761/eureka/apps/WEB", "Eureka: the UP instances of an app (?secure=true for HTTPS)"),
        Entry(
            "srv:///_http._tcp.web.example.com",
            "DNS SRV records, from resolv.conf's servers or srv://SERVER:PORT/...; read-only"),
    ]

    /// The environment variables sdctl reads.
    public static let environment: [Entry] = [
        Entry(
            "SDCTL_HOME",
            "the file backend's directory (default $XDG_STATE_HOME/sdctl, else ~/.local/state/sdctl)"),
        Entry("NO_COLOR", "when set and not empty, never colour the output"),
        Entry(
            "SDCTL_MAX_INSTANCES",
            "the most instances one etcd, Consul or Eureka answer may list (default 200000); more is exit 1"),
        Entry(
            "SDCTL_ZK_DIGEST, SDCTL_ZK_DIGEST_FILE",
            "ZooKeeper digest credentials user:password, or a file holding them"),
        Entry("ETCDCTL_ENDPOINTS", "etcd endpoints for an etcd:/// target without hosts"),
        Entry("ETCDCTL_USER, ETCDCTL_PASSWORD", "etcd user name and password"),
        Entry(
            "ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY",
            "etcd TLS: the CA, and a client certificate and key (PEM files)"),
        Entry(
            "CONSUL_HTTP_ADDR", "the Consul agent for a consul:/// target without a host (also unix:///PATH)"),
        Entry("CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE", "the Consul ACL token, or a file holding it"),
        Entry("CONSUL_HTTP_AUTH", "HTTP basic credentials user:password for the agent"),
        Entry(
            "CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY",
            "use HTTPS; verify the agent's certificate (default true)"),
        Entry(
            "CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME",
            "Consul TLS: CA file or directory, client certificate and key, the name to verify"),
        Entry("EUREKA_USER, EUREKA_PASSWORD, EUREKA_PASSWORD_FILE", "Eureka basic authentication"),
        Entry(
            "EUREKA_CACERT, EUREKA_CLIENT_CERT, EUREKA_CLIENT_KEY",
            "Eureka TLS: the CA, and a client certificate and key"),
        Entry("SDCTL_RESOLV_CONF", "the resolv.conf that srv:/// targets read (default /etc/resolv.conf)"),
        Entry("LOCALDOMAIN, RES_OPTIONS", "search list and resolver options, as the C library reads them"),
    ]

    /// The exit codes, in the order docs/exit-codes.md gives them.
    public static let exitCodes: [Entry] = [
        Entry("\(ExitCode.success)", "success"),
        Entry("\(ExitCode.failure)", "a runtime failure (I/O, a refused registration, an undecodable reply)"),
        Entry("\(ExitCode.usage)", "the command line was wrong"),
        Entry("\(ExitCode.noInstances)", "resolve found no instances"),
        Entry(
            "\(ExitCode.unavailable)", "the discovery system could not be reached, or gave no answer in time"),
        Entry("\(ExitCode.permissionDenied)", "the discovery system refused: authentication or permission"),
        Entry("\(ExitCode.timedOut)", "sdctl's own wait ran out (--wait-for, register --timeout, --ready)"),
        Entry("\(ExitCode.outputClosed)", "nobody reads stdout any more (sdctl watch | head -1)"),
        Entry("126, 127", "register -- CMD: CMD could not be started, or was not found"),
        Entry("n, 128+s", "register -- CMD: the command's own exit code, or 128 + the signal that killed it"),
    ]
}
