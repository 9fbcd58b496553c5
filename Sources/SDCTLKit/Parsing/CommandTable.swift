/// The declarative table of every `sdctl` command. Parsing, `--help`, `help COMMAND` and the
/// completion scripts are all generated from it, so they cannot drift apart.
public enum CommandTable {
    static let target = PositionalSpec("TARGET", "where the service is: \(targetForms)")

    /// One or more targets, for the commands that read.
    static let targetList = PositionalSpec(
        "TARGET", repeatable: true,
        "where the service is: \(targetForms); several are each labelled in the output")

    /// Every backend's form of TARGET, in the order of ``BackendDescription/all``.
    /// A loop, not `map(\.shortForm).joined(separator:)`: every command's help is built at start,
    /// and the generic algorithm's run-time type lookup scanned every conformance in the binary.
    static var targetForms: String {
        var forms = "a bare name (file backend)"
        for backend in BackendDescription.all { forms += ", " + backend.shortForm }
        return forms
    }

    /// Options accepted before or after any command.
    public static let globalOptions: [OptionSpec] = [
        .value(
            "output", short: "o", "FORMAT", completion: .choices(["text", "json"]),
            "output format: text (default) or json"),
        .value("timeout", "DURATION", "bound the command: 250ms, 10s, 5m, 1h"),
        .flag("verbose", short: "v", "log what the backend does to stderr"),
        .flag("no-color", "never colour the output (NO_COLOR is honoured too)"),
        .flag("help", short: "h", "show help"),
        .flag("version", "print the version"),
    ]

    public static let resolve = CommandSpec(
        name: "resolve",
        summary: "print the current instances of a service",
        discussion: """
            Prints one address per line, or with -o json an object with "confirmed" (when the \
            backend last stood behind the set), "stale" and "instances", objects with "address" and \
            the metadata the backend has. Exits 0 when there are instances and 3 when there are \
            none; with --max-stale, 6 when the backend confirmed the set longer ago than that (a \
            Consul follower behind its leader, with ?stale reads). Without --wait-for, waits at most --timeout (default 10s) for the backend's \
            first answer. With several TARGETs (the same service in two backends during a \
            migration), asks them all at once and starts each line with its target; --compare \
            prints each address that is in some and not in others, and exits 4 when they differ. \
            --probe checks every instance (32 at a time) and prints whether it answered and how \
            fast; exits 0 when any did and 5 when none did.
            """,
        positionals: [targetList],
        options: [
            .value("wait-for", "N", "wait until at least N instances are present (exit 124 on --timeout)"),
            .value(
                "max-stale", "DURATION",
                "exit 6 unless the backend confirmed the set within DURATION and keeps it through no error"),
            .flag(
                "compare",
                "with several TARGETs: print what is in one and not another; exit 4 when they differ"),
            .value(
                "probe", "KIND", completion: .choices(["tcp", "http"]),
                "check each instance: tcp (connects), http or http:/PATH (GET answers 2xx)"),
            .value("probe-timeout", "DURATION", "how long one probe may take (default 2s)"),
            .value(
                "pick", "BALANCER", completion: .choices(BalancerChoice.names),
                "print the instances this balancer would pick instead of the set (docs/balancers.md)"),
            .value("picks", short: "n", "K", "with --pick: how many picks to print (default 1)"),
            .value("key", "KEY", "with --pick maglev: the request key; later picks show where retries go"),
            .value("zone", "ZONE", "with --pick zone: the caller's zone"),
        ],
        examples: [
            "sdctl resolve web", "sdctl resolve web --wait-for 2 --timeout 30s -o json",
            "sdctl resolve web --pick maglev --key user-42", "sdctl resolve web --pick least-loaded -n 10",
            "sdctl resolve web --probe http:/healthz",
            "sdctl resolve web zk://127.0.0.1:2181/services/web --compare",
        ]
    )

    public static let watch = CommandSpec(
        name: "watch",
        summary: "print the instances of a service, then every change",
        discussion: """
            On a terminal (stdin and stdout, in the foreground), draws a full-screen table updated in place: each instance with its \
            age, how often it flapped (left and came back), its tags and metadata; joins in green \
            and leaves in red (no colour with --no-color or NO_COLOR); a header with the \
            backends, churn (joins and leaves in the last minute) and the last error. q or \
            Ctrl-C leaves it. Otherwise (a pipe, a file, --plain, -o json) prints the initial \
            set, then each change with a timestamp, what was added and removed, and the count; \
            with -o json, one JSON object per line, flushed as it happens. With several TARGETs \
            each line (and JSON object) says which target it is from. --exec runs CMD after each \
            change, never two at once: changes while it runs are coalesced into one more run; it \
            gets the set as JSON on stdin (as resolve -o json prints it) and SDCTL_INSTANCES, \
            SDCTL_ADDED, SDCTL_REMOVED, SDCTL_CHANGED, SDCTL_TARGET and SDCTL_RUN in its environment; a run that \
            fails is reported on stderr and the next change runs it again. --template \
            SRC:DEST[:CMD] renders the Mustache template SRC with every target's instances at each \
            change, writes DEST atomically (keeping its mode and owner) only when its content \
            changed, and then runs CMD; a template error is exit 2 with SRC:LINE:COLUMN \
            (docs/templates.md has the context). Neither runs twice for the same sets; --wait \
            MIN[:MAX] waits for quiet; --once runs them once and exits (3 when a target has no \
            instances). A change is a join (+ADDRESS), a leave (-ADDRESS), or an instance whose \
            tags, metadata, weight, priority or zone changed (~ADDRESS; "changed" in JSON). \
            --timeout bounds the run; ending by timeout is \
            success.
            """,
        positionals: [targetList],
        options: [
            .value("count", "N", "exit after N events (the initial set counts as one)"),
            .value(
                "exec", "CMD", completion: .command,
                "run CMD (with /bin/sh -c) after each change, the set as JSON on stdin"),
            .value(
                "template", "SRC:DEST[:CMD]", repeatable: true, completion: .file,
                "render template SRC to DEST at each change, then run CMD if DEST changed (repeatable)"),
            .value(
                "wait", "MIN[:MAX]",
                "run --exec and --template once no change has come for MIN, but no later than MAX (default 4xMIN) after the first"
            ),
            .flag(
                "wait-first", "with --wait: the first set waits for quiet too (by default it runs at once)"),
            .flag("changes-only", "do not run --exec and --template for the first set, only for changes"),
            .flag("once", "run --exec and --template once with every target's first answer, then exit"),
            .flag(
                "allow-empty", "with --once: render and run even when a target has no instances (else exit 3)"
            ),
            .flag("plain", "line output even on a terminal"),
        ],
        examples: [
            "sdctl watch web", "sdctl watch web -o json --count 5",
            "sdctl watch web --exec 'render-upstreams > /etc/haproxy/web.cfg && systemctl reload haproxy'",
            "sdctl watch web zk://127.0.0.1:2181/services/web --plain",
            "sdctl watch web --template upstream.mustache:/etc/nginx/conf.d/web.conf:'nginx -s reload'",
        ]
    )

    public static let register = CommandSpec(
        name: "register",
        summary: "register an instance while sdctl (or a wrapped command) runs",
        discussion: """
            Registers ADDRESS under TARGET, prints the instance id and holds the registration \
            until SIGINT or SIGTERM, then deregisters and exits 0. With -- CMD, runs CMD (no \
            shell), keeps it registered while it runs, forwards signals to it, deregisters when it \
            exits and exits with its code (128+signal if it was killed). With --ready, registers \
            only once the probe passes (exit 124 if it has not within --timeout), then probes \
            every --probe-interval, deregisters after --ready-failures failures in a row and \
            registers again when it passes, saying so on stderr. With --drain, a SIGTERM or \
            SIGINT first takes the registration out (Eureka: marks it OUT_OF_SERVICE), waits \
            DURATION so clients stop picking it, and only then stops CMD.
            """,
        positionals: [target, PositionalSpec("ADDRESS", "host:port of the instance ([v6]:port for IPv6)")],
        options: [
            .value("id", "ID", "the registration id (default: made from the address)"),
            .value("tag", "TAG", repeatable: true, "a tag (repeatable)"),
            .value("meta", "KEY=VALUE", repeatable: true, "metadata (repeatable)"),
            .value(
                "ttl", "DURATION",
                "how long a registration outlives its registrar: the ZooKeeper session timeout, etcd lease TTL or Consul TTL check (default 10s), the Eureka lease (default 90s); the file backend ties liveness to the process"
            ),
            .value(
                "ready", "URL",
                "register only while tcp://HOST:PORT accepts connections, or http://HOST:PORT/PATH answers 2xx"
            ),
            .value(
                "probe-interval", "DURATION", "with --ready: how often to probe once registered (default 2s)"),
            .value(
                "probe-timeout", "DURATION",
                "with --ready: how long one probe may take (default 2s or the interval)"),
            .value("ready-failures", "N", "with --ready: failures in a row that deregister (default 3)"),
            .value(
                "drain", "DURATION",
                "on SIGTERM/SIGINT, deregister (Eureka: mark OUT_OF_SERVICE) and wait this long before stopping CMD and exiting"
            ),
        ],
        takesTrailingCommand: true,
        examples: [
            "sdctl register web 127.0.0.1:8080", "sdctl register web 127.0.0.1:8080 -- ./server --port 8080",
            "sdctl register web 127.0.0.1:8080 --ready http://127.0.0.1:8080/healthz --drain 10s -- ./server",
        ]
    )

    public static let deregister = CommandSpec(
        name: "deregister",
        summary: "remove a registration by id or address",
        discussion: "Idempotent: removing what is already gone exits 0 with a note on stderr.",
        positionals: [
            target, PositionalSpec("ID-OR-ADDRESS", "the registration id, or the instance address"),
        ],
        examples: ["sdctl deregister web 127.0.0.1:8080"]
    )

    public static let benchBalancer = CommandSpec(
        name: "balancer",
        summary: "measure balancer picks at 1 and T threads, and simulate mixed latencies",
        discussion: """
            Prints ns/pick and ns/lease (a lease taken and completed) at 1 and T threads, picks/s \
            and how evenly picks spread over the instances. Then runs each balancer in a \
            simulation of five endpoints of 10 ms mean latency, one of them slow (50 ms), and \
            prints requests per endpoint and p50/p99 latency.
            """,
        options: [
            .value("instances", "N", "instances to balance over (default 3)"),
            .value("threads", "T", "threads for the parallel run (default 2)"),
            .value(
                "balancer", "NAME", completion: .choices(BalancerChoice.names),
                "only this balancer (docs/balancers.md describes each)"),
            .value("picks", "N", "picks per measurement (default 10000000)"),
            .value("requests", "N", "requests in the simulation (default 20000)"),
        ],
        examples: ["sdctl bench balancer --instances 1000 --threads 2"]
    )

    public static let benchPropagation = CommandSpec(
        name: "propagation",
        summary: "measure register->seen and deregister->seen latency through a backend",
        discussion: """
            Registers and deregisters an instance N times through the backend's registrar while \
            its instancer watches, and prints latency p50/p90/p99/max and a bar for each \
            percentile; -o json adds HdrHistogram's percentile distribution, to plot. With \
            --separate-watcher \
            the watcher is another process (sdctl watch), as in production. With --subscribers \
            N the instancer has N subscribers and a change counts as seen when the last of \
            them has it.
            """,
        positionals: [target],
        options: [
            .value("rounds", "N", "register/deregister rounds (default 200)"),
            .flag("separate-watcher", "watch from a separate sdctl watch process"),
            .value(
                "subscribers", "N", "subscribers of the one instancer; seen when the last has it (default 1)"),
        ],
        examples: [
            "sdctl bench propagation bench-web --rounds 500",
            "sdctl bench propagation bench-web --subscribers 1000",
        ]
    )

    /// The groups of commands (`bench balancer`), by their first word.
    /// A list, not a dictionary: see ``Invocation/options``.
    static let groups: [(word: String, summary: String)] = [
        ("bench", "measure balancers or a backend's propagation latency")
    ]

    /// The first word of every command, in the order of `allCommands`.
    static var commandWords: [String] {
        var words: [String] = []
        for command in allCommands where !words.contains(command.path[0]) { words.append(command.path[0]) }
        return words
    }

    /// The root's entries: each command, and each group with its commands.
    static var commandEntries: [CommandSpec] {
        commandWords.map { word in
            let members = allCommands.filter { $0.path[0] == word }
            guard members.count > 1 || members[0].path.count > 1 else { return members[0].spec }
            return CommandSpec(
                name: word, summary: groups.first { $0.word == word }?.summary ?? "",
                subcommands: members.map { $0.spec })
        }
    }

    public static let completion = CommandSpec(
        name: "completion",
        summary: "print a shell completion script",
        positionals: [
            PositionalSpec("SHELL", completion: .choices(["bash", "zsh", "fish"]), "bash, zsh or fish")
        ],
        examples: ["sdctl completion bash > /etc/bash_completion.d/sdctl"]
    )

    public static let manpage = CommandSpec(
        name: "manpage",
        summary: "print the manual page (roff), as installed in share/man/man1/sdctl.1",
        examples: ["sdctl manpage | man -l -"]
    )

    public static let help = CommandSpec(
        name: "help",
        summary: "show help for a command",
        positionals: [
            PositionalSpec(
                "COMMAND",
                completion: .choices(commandWords.filter { $0 != "help" }),
                "the command (optional)")
        ]
    )

    public static let root = CommandSpec(
        name: "sdctl",
        summary: "service discovery from the shell: resolve, watch, register, measure",
        options: globalOptions,
        subcommands: commandEntries,
        examples: [
            "sdctl register web 127.0.0.1:8080 &", "sdctl resolve web", "sdctl watch web -o json",
        ]
    )
}
