import CZooKeeper
import Discovery
import Synchronization

/// Gathers the answers of a pipelined batch and hands them over when the last one arrives.
final class DataCollector: Sendable {
    private let state: Mutex<(results: [Result<[UInt8], ZooKeeperError>?], remaining: Int)>
    private let completion: @Sendable ([Result<[UInt8], ZooKeeperError>]) -> Void

    init(count: Int, completion: @escaping @Sendable ([Result<[UInt8], ZooKeeperError>]) -> Void) {
        state = Mutex((Array(repeating: nil, count: count), count))
        self.completion = completion
    }

    func finish(_ index: Int, _ result: Result<[UInt8], ZooKeeperError>) {
        let done = state.withLock { state -> [Result<[UInt8], ZooKeeperError>]? in
            state.results[index] = result
            state.remaining -= 1
            return state.remaining == 0 ? state.results.map { $0! } : nil
        }
        if let done { completion(done) }
    }
}

extension ZooKeeperClient {
    /// How a node is created.
    public enum CreateMode: Sendable {
        case persistent
        case ephemeral
        /// Ephemeral, with a 10-digit sequence number appended by the server.
        case ephemeralSequential

        var flags: Int32 {
            switch self {
            case .persistent: ZOO_PERSISTENT
            case .ephemeral: ZOO_EPHEMERAL
            case .ephemeralSequential: ZOO_EPHEMERAL | ZOO_SEQUENCE
            }
        }
    }

    /// Creates a node and returns its path (with the sequence number, for sequential nodes).
    /// With credentials configured, the node gets creator-all plus world-read ACLs.
    public func create(_ path: String, data: [UInt8], mode: CreateMode) async throws(DiscoveryError) -> String
    {
        let secured = configuration.digest != nil
        let (rc, created): (Int32, String??) = await submit { handle, box in
            let acl = secured ? sdzk_creator_all_world_read() : sdzk_open_acl()
            return data.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    zoo_acreate(
                        handle, path, chars.baseAddress, Int32(bytes.count), acl, mode.flags,
                        Trampolines.string, box)
                }
            }
        }
        guard rc == ZOK.rawValue else { throw ZooKeeperError(code: rc, path: path).discoveryError }
        return (created ?? nil) ?? path
    }

    /// Deletes a node (any version).
    public func delete(_ path: String) async throws(DiscoveryError) {
        let (rc, _): (Int32, Void?) = await submit { handle, box in
            zoo_adelete(handle, path, -1, Trampolines.void, box)
        }
        guard rc == ZOK.rawValue else { throw ZooKeeperError(code: rc, path: path).discoveryError }
    }

    /// Whether a node exists.
    public func exists(_ path: String) async throws(DiscoveryError) -> Bool {
        let (rc, _): (Int32, Void?) = await submit { handle, box in
            zoo_aexists(handle, path, 0, Trampolines.stat, box)
        }
        if rc == ZNONODE.rawValue { return false }
        guard rc == ZOK.rawValue else { throw ZooKeeperError(code: rc, path: path).discoveryError }
        return true
    }

    /// A node's data.
    public func data(_ path: String) async throws(DiscoveryError) -> [UInt8] {
        let (rc, bytes): (Int32, [UInt8]?) = await submit { handle, box in
            zoo_aget(handle, path, 0, Trampolines.data, box)
        }
        guard rc == ZOK.rawValue else { throw ZooKeeperError(code: rc, path: path).discoveryError }
        return bytes ?? []
    }

    /// Several nodes' data, pipelined: every request is sent before any answer is awaited, so
    /// the whole batch costs about one round trip.
    public func data(paths: [String]) async -> [Result<[UInt8], DiscoveryError>] {
        await withCheckedContinuation { continuation in
            requestData(paths) { results in
                continuation.resume(returning: results.map { $0.mapError(\.discoveryError) })
            }
        }
    }

    /// A node's children; with `onChange`, also a one-shot watch that calls it when they change
    /// (not for session events; listen to those with ``onSessionEvent(_:)``).
    public func children(_ path: String, onChange: (@Sendable () -> Void)? = nil) async throws(DiscoveryError)
        -> [String]
    {
        let watch = onChange.flatMap { makeWatch($0) }
        let (rc, names): (Int32, [String]?) = await submit { handle, box in
            if let (watchBox, _) = watch {
                return zoo_awget_children2(
                    handle, path, Trampolines.watch, watchBox.retainForLibrary(), Trampolines.children, box)
            }
            return zoo_aget_children2(handle, path, 0, Trampolines.children, box)
        }
        guard rc == ZOK.rawValue else {
            // The C client only arms a watch for a successful answer (and none for a request
            // never sent); whatever retain it was given is ours to give back.
            if let (watchBox, id) = watch {
                forgetWatch(id)
                watchBox.abandon()
            }
            throw ZooKeeperError(code: rc, path: path).discoveryError
        }
        return names ?? []
    }

    /// Asks for a node's children and arms a one-shot watch, calling `completion` from the C
    /// client's completion thread. For callback-driven state machines that must not hop
    /// threads between a watch firing and the next request; `completion` must not block.
    /// Without `onChange`, no watch is armed (one armed before is still pending).
    func requestChildren(
        _ path: String, onChange: (@Sendable () -> Void)?,
        completion: @escaping @Sendable (Int32, [String]) -> Void
    ) {
        let watch = onChange.flatMap { makeWatch($0) }
        // Weak: a completion must never hold the last reference to the client, whose deinit
        // would then close the handle on the library's own completion thread.
        let box = CompletionBox<[String]> { [weak self] rc, names in
            if rc != ZOK.rawValue, let (watchBox, id) = watch {
                self?.forgetWatch(id)
                watchBox.abandon()
            }
            completion(rc, names)
        }
        let pointer = box.opaque
        let rc = withHandle { handle in
            guard onChange != nil else {
                return zoo_aget_children2(handle, path, 0, Trampolines.children, pointer)
            }
            guard let (watchBox, _) = watch else { return ZINVALIDSTATE.rawValue }
            return zoo_awget_children2(
                handle, path, Trampolines.watch, watchBox.retainForLibrary(), Trampolines.children, pointer)
        }
        if rc != ZOK.rawValue {
            // Not sent (closed, authentication failed, no handle, or refused by the library):
            // no completion will come, so run it here.
            CompletionBox<[String]>.take(UnsafeRawPointer(pointer)).resume(rc, [])
        }
    }

    /// Several nodes' data, pipelined, delivered at once on the completion thread.
    func requestData(
        _ paths: [String], completion: @escaping @Sendable ([Result<[UInt8], ZooKeeperError>]) -> Void
    ) {
        guard !paths.isEmpty else {
            completion([])
            return
        }
        let collector = DataCollector(count: paths.count, completion: completion)
        var failures: [(Int, Int32)] = []
        let rc = withHandle { handle in
            for (index, path) in paths.enumerated() {
                let box = CompletionBox<[UInt8]> { rc, bytes in
                    collector.finish(
                        index,
                        rc == ZOK.rawValue ? .success(bytes) : .failure(ZooKeeperError(code: rc, path: path)))
                }
                let pointer = box.opaque
                let rc = zoo_aget(handle, path, 0, Trampolines.data, pointer)
                if rc != ZOK.rawValue {
                    CompletionBox<[UInt8]>.drop(pointer)
                    failures.append((index, rc))
                }
            }
            return ZOK.rawValue
        }
        if rc != ZOK.rawValue { failures = paths.indices.map { ($0, rc) } }
        for (index, rc) in failures {
            collector.finish(index, .failure(ZooKeeperError(code: rc, path: paths[index])))
        }
    }

    /// Creates every missing node on the way to `path` (persistent, empty), `path` included.
    public func createParents(_ path: String) async throws(DiscoveryError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            do {
                _ = try await create(current, data: [], mode: .persistent)
            } catch  where error.zooKeeperError?.isNodeExists == true {
                continue
            }
        }
    }
}
