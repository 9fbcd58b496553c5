import Discovery
import Logging
import Synchronization

/// Watches the children of a ZooKeeper node and publishes them as instances.
///
/// As go-kit's ZooKeeper registrar writes them, each child is one instance and its data is the
/// instance address. Children of a registration path are ephemeral and written once, so data
/// is read only for children not seen before, and those reads are pipelined: a change costs
/// one `getChildren` and one round trip of reads, not one per child. A child whose data is not
/// an address is reported and skipped. Any failure becomes an error event, then backoff and a
/// new listing, for as long as the instancer lives; a new session (after expiry) re-lists and
/// re-arms the watch.
public final class ZooKeeperInstancer: Instancer, Sendable {
    public let path: String
    public let client: ZooKeeperClient
    private let cache = InstanceCache()
    private let loop: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let ownsClient: Bool

    /// - Parameters:
    ///   - connectTimeout: how long to wait for a session before reporting the ensemble
    ///     unreachable (the instancer keeps trying after that).
    ///   - ownsClient: close `client` when the instancer stops.
    public init(
        client: ZooKeeperClient, path: String, connectTimeout: Duration = .seconds(1), ownsClient: Bool = false,
        logger: Logger = Logger(label: "sdctl.zookeeper")
    ) {
        self.client = client
        self.path = path
        self.ownsClient = ownsClient
        let cache = self.cache
        loop.withLock {
            $0 = Task {
                await Self.run(client: client, path: path, cache: cache, connectTimeout: connectTimeout, logger: logger)
            }
        }
    }

    deinit {
        stop()
    }

    public func subscribe() -> InstanceSubscription { cache.subscribe() }

    /// The last good set.
    public var instances: [Instance]? { cache.instances }

    public func stop() {
        cache.stop()
        loop.withLock { task in
            task?.cancel()
            task = nil
        }
        if ownsClient { client.close() }
    }

    private static func run(
        client: ZooKeeperClient, path: String, cache: InstanceCache, connectTimeout: Duration, logger: Logger
    ) async {
        // One stream wakes the loop for a fired watch or a session change; newest-only, so
        // several wake-ups while listing collapse into one more listing.
        let (triggers, trigger) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let listener = client.onSessionEvent { event in
            switch event {
            case .connected, .expired, .authenticationFailed: trigger.yield(())
            case .disconnected, .closed: break
            }
        }
        defer {
            listener.cancel()
            trigger.finish()
        }
        var wakeUps = triggers.makeAsyncIterator()
        var known: [String: Instance?] = [:]  // child name -> instance, or nil for unusable data
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))
        while !Task.isCancelled {
            do throws(ZooKeeperError) {
                try await client.waitUntilConnected(timeout: connectTimeout)
                let names: [String]
                do {
                    names = try await client.children(path) { trigger.yield(()) }
                } catch where error.isNoNode {
                    try await client.createParents(path)
                    continue
                }
                let fresh = names.filter { known[$0] == nil }
                let results = await client.data(paths: fresh.map { path + "/" + $0 })
                for (name, result) in zip(fresh, results) {
                    switch result {
                    case .success(let bytes):
                        known[name] = parse(bytes, name: name, path: path, logger: logger)
                    case .failure(let error) where error.isNoNode:
                        continue  // gone since the listing; the watch brings the next one
                    case .failure(let error):
                        throw error
                    }
                }
                let present = Set(names)
                known = known.filter { present.contains($0.key) }
                cache.update(known.values.compactMap { $0 })
                backoff.reset()
                guard await wakeUps.next() != nil else { return }
            } catch {
                cache.fail(error.discoveryError)
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// A child's data as an instance: the address, as go-kit writes it.
    static func parse(_ bytes: [UInt8], name: String, path: String, logger: Logger) -> Instance? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        do {
            let address = try HostPort(parsing: text)
            return Instance(address: address.description, id: name)
        } catch {
            logger.warning("zookeeper: skipping \(path)/\(name): its data is not an address (\(error.message))")
            return nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }
        return String(String.UnicodeScalarView(scalars.reversed()))
    }
}
