import Foundation
import Synchronization

/// etcd's own gRPC naming (`clientv3/naming/endpoints`, the manager and watch grpc-go's etcd
/// resolver uses) from Debian's etcd sources (`golang-etcd-server-dev`), driven by the Go
/// program in Tests/Peers/etcd-naming, built with Debian's `golang-go` once per test run, the
/// way ../shared/anchors/etcd-floor builds its program (`Tests/Peers/build.sh`, which .ci/run
/// calls, builds it ahead of the run). A missing package is an error, never a skip.
public enum EtcdNamingPeer {
    static let sources = "/usr/share/gocode/src/go.etcd.io/etcd/clientv3/naming/endpoints"

    private static let built = Mutex<Task<String, any Error>?>(nil)

    /// The built program (built on first use).
    public static func executable() async throws -> String {
        let task = built.withLock { task in
            if let task { return task }
            let made = Task { try await build() }
            task = made
            return made
        }
        return try await task.value
    }

    private static func build() async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/go") else {
            throw ServerProcesses.Unavailable(
                "Go is not installed: apt-get install golang-go (needed by this test)")
        }
        guard FileManager.default.fileExists(atPath: sources) else {
            throw ServerProcesses.Unavailable(
                "etcd's Go sources are not installed: apt-get install golang-etcd-server-dev (needed by this test)"
            )
        }
        let source = Repository.root + "/Tests/Peers/etcd-naming/main.go"
        let prebuilt = Repository.root + "/.build/peers/etcd-naming/etcd-naming"
        if Prebuilt.isCurrent(prebuilt, sources: [source]) { return prebuilt }
        // Kept for the test run (a GOPATH with one package, its build cache and the program).
        let work = TemporaryDirectory("sdctl-etcd-naming-peer").path
        let package = work + "/src/etcdnaming"
        try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: source, toPath: package + "/main.go")
        let go = try RunningProcess(
            "/bin/sh",
            [
                "-c",
                "cd \"$1\" && GOPATH=\"$2:/usr/share/gocode\" GO111MODULE=off GOCACHE=\"$2/cache\" GOFLAGS= go build -o \"$2/etcd-naming\" .",
                "sh", package, work,
            ], environment: [:])
        let status = try await go.wait(timeout: .seconds(300))
        guard status == 0 else {
            throw ServerProcesses.Unavailable(
                "go build of Tests/Peers/etcd-naming failed (\(status)): \(go.stderr)")
        }
        return work + "/etcd-naming"
    }

    /// Starts the peer in `mode` (`add`, `watch`, `list`) against `endpoint` and `target`.
    public static func start(_ mode: String, endpoint: String, target: String, _ arguments: [String] = [])
        async throws -> RunningProcess
    {
        try RunningProcess(
            try await executable(), [mode, endpoint, target] + arguments, environment: [:],
            writableStdin: true)
    }

    /// One endpoint as the peer prints it.
    public struct Seen: Decodable, Sendable, Equatable {
        public var key: String
        public var addr: String
        public var metadata: [String: String]?
    }

    /// A line the peer printed, as endpoints.
    public static func decode(_ line: String) throws -> [Seen] {
        try JSONDecoder().decode([Seen].self, from: Data(line.utf8))
    }
}
