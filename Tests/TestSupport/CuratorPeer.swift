import Foundation
import Synchronization

/// Apache Curator's service discovery from Debian (`libcurator-discovery-java`, and
/// `libcurator-recipes-java`, which its ServiceCache needs but the package does not name), driven by the
/// Java program in Tests/Peers/curator, compiled with the JDK's `javac` once per test run. It
/// registers, watches and queries as a Spring Cloud Zookeeper service does. `Tests/Peers/build.sh`
/// (which .ci/run calls) builds it ahead of the run; what it built is used while it is current. A missing package
/// is an error, never a skip.
public enum CuratorPeer {
    static let jars = [
        "curator-x-discovery", "curator-recipes", "curator-framework", "curator-client", "zookeeper",
        "zookeeper-jute",
        "jackson-databind", "jackson-core", "jackson-annotations", "guava", "slf4j-api", "slf4j-nop",
    ].map { "/usr/share/java/\($0).jar" }

    private static let compiled = Mutex<Task<String, any Error>?>(nil)

    /// The class path of the compiled peer (compiled on first use).
    public static func classPath() async throws -> String {
        let task = compiled.withLock { task in
            if let task { return task }
            let made = Task { try await compile() }
            task = made
            return made
        }
        return try await task.value
    }

    private static func compile() async throws -> String {
        for jar in jars where !FileManager.default.fileExists(atPath: jar) {
            throw ServerProcesses.Unavailable(
                "\(jar) is missing: apt-get install libcurator-discovery-java libcurator-recipes-java (needed by this test)"
            )
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/javac") else {
            throw ServerProcesses.Unavailable("javac is missing: apt-get install default-jdk-headless")
        }
        let source = Repository.root + "/Tests/Peers/curator"
        let sources = [
            source + "/CuratorPeer.java",
            source + "/org/springframework/cloud/zookeeper/discovery/ZookeeperInstance.java",
        ]
        let prebuilt = Repository.root + "/.build/peers/curator"
        if Prebuilt.isCurrent(prebuilt + "/CuratorPeer.class", sources: sources) {
            return ([prebuilt] + jars).joined(separator: ":")
        }
        // Kept for the test run (a few class files in $TMPDIR); every test shares it.
        let output = TemporaryDirectory("sdctl-curator-peer").path
        let javac = try RunningProcess(
            "/usr/bin/javac",
            [
                "-nowarn", "-d", output, "-cp", jars.joined(separator: ":"),
            ] + sources, environment: [:])
        let status = try await javac.wait(timeout: .seconds(180))
        guard status == 0 else {
            throw ServerProcesses.Unavailable("javac failed (\(status)): \(javac.stderr)")
        }
        return ([output] + jars).joined(separator: ":")
    }

    /// Starts the peer in `mode` (`register`, `watch`, `query`) with `arguments` after it.
    public static func start(_ mode: String, _ arguments: [String]) async throws -> RunningProcess {
        let classPath = try await classPath()
        return try RunningProcess(
            "/usr/bin/java", ["-Xmx128m", "-cp", classPath, "CuratorPeer", mode] + arguments,
            environment: [:],
            writableStdin: true)
    }

    /// Registers an instance with Curator's `registerService`, with a Spring Cloud Zookeeper
    /// payload holding `metadata`; returns once Curator says it is registered. Send it
    /// `unregister`, or close its stdin to end it (Curator unregisters as it closes).
    public static func register(
        _ connectString: String, basePath: String, name: String, id: String, address: String, port: Int,
        metadata: [String: String] = [:]
    ) async throws -> RunningProcess {
        try await registered(
            "register",
            [connectString, basePath, name, id, address, "\(port)"]
                + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }

    /// One instance of ``registerSeveral(_:basePath:name:_:)``.
    public struct Registration: Sendable {
        public var id: String
        public var address: String
        public var port: Int
        public var metadata: [String: String]

        public init(id: String, address: String, port: Int, metadata: [String: String] = [:]) {
            self.id = id
            self.address = address
            self.port = port
            self.metadata = metadata
        }
    }

    /// Registers several instances from one JVM (each JVM start costs a core for a second or
    /// two); returns once Curator says they are registered. Close its stdin to end it.
    public static func registerSeveral(
        _ connectString: String, basePath: String, name: String, _ registrations: [Registration]
    ) async throws -> RunningProcess {
        try await registered(
            "several",
            [connectString, basePath, name]
                + registrations.map { registration in
                    ([registration.id, registration.address, "\(registration.port)"]
                        + registration.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
                        .joined(separator: ",")
                })
    }

    /// Starts a registering mode and waits for "registered", holding a JVM start permit
    /// meanwhile (``StartGate/jvm``).
    private static func registered(_ mode: String, _ arguments: [String]) async throws -> RunningProcess {
        try await StartGate.jvm.withPermit {
            let peer = try await start(mode, arguments)
            try await peer.line(within: .seconds(60)) { $0 == "registered" }
            return peer
        }
    }

    /// One instance as the peer prints it.
    public struct Seen: Decodable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var address: String
        public var port: Int?
        public var sslPort: Int?
        public var serviceType: String
        public var metadata: [String: String]?
    }

    /// A line the peer printed, as instances.
    public static func decode(_ line: String) throws -> [Seen] {
        try JSONDecoder().decode([Seen].self, from: Data(line.utf8))
    }
}
