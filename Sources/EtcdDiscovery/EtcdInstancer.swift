import Discovery
import Logging
import Synchronization

/// Watches every key under a prefix and publishes the values as instances, in go-kit's etcdv3
/// layout (the value is the instance address) or etcd's gRPC naming (the value is the endpoints
/// manager's JSON; ``EtcdLayout``): in the layout asked for, or without one in whichever each
/// key is. A key that fits no layout is reported (the first as a warning, the rest at debug
/// level) and skipped.
///
/// One prefix Range, then a Watch from the Range's revision + 1, applied incrementally: each
/// event changes one key, nothing is read again. When the history was compacted past the
/// watch's start, a full Range and a new watch from there; when the stream fails, an error
/// event, backoff, and a new watch from the last revision seen. The loop lives as long as the
/// instancer.
public final class EtcdInstancer: CoreBackedInstancer {
    public let prefix: String
    public let client: EtcdClient
    /// The layout keys must be in; `nil`: whichever each key is in.
    public let layout: EtcdLayout?
    public let core: InstancerCore

    /// Where the watch stands; shared with the watch callback.
    final class Progress: Sendable {
        struct State: Sendable {
            var instances = KeyedInstances<[UInt8]>()
            var revision: Int64 = 0
            var needRange = true
            /// Whether the current watch got any answer (its creation counts).
            var watchAnswered = false
            /// Whether a watch delivered changes since the last full read.
            var changedSinceRange = false
        }
        let state = Mutex(State())
    }

    /// Starts watching at once. The caller owns `client` and closes it after stopping the
    /// instancer.
    public init(
        client: EtcdClient, prefix: String, layout: EtcdLayout? = nil,
        logger: Logger = DiscoveryLogging.disabled
    ) {
        let logger = logger.forBackend("etcd")
        self.client = client
        self.prefix = prefix
        self.layout = layout
        let reader = KeyReader(prefix: prefix, layout: layout, logger: logger)
        core = InstancerCore { cache in
            await Self.watch(client: client, reader: reader, cache: cache, logger: logger)
        }
    }

    /// Reads keys as instances in the layout asked for, or in each key's own.
    struct KeyReader: Sendable {
        let prefix: String
        let layout: EtcdLayout?
        let logger: Logger
        let skipped = SkippedEntryReport(entries: "keys")

        /// The keys of a Range that are instances, by key.
        func instances(_ kvs: [EtcdKeyValue]) -> KeyedInstances<[UInt8]> {
            var instances: [[UInt8]: Instance] = [:]
            for kv in kvs {
                if let instance = parse(kv) { instances[kv.key] = instance }
            }
            return KeyedInstances(instances)
        }

        /// A key's value as an instance; `nil` for a gRPC naming delete, or a value that fits
        /// no layout (reported).
        func parse(_ kv: EtcdKeyValue) -> Instance? {
            let key = String(decoding: kv.key, as: UTF8.self)
            let id = String(key.dropFirst(prefix.count))
            let found = EtcdLayout.of(value: kv.value)
            do throws(DiscoveryError) {
                if let layout, layout != found {
                    throw DiscoveryError(
                        .invalidResponse,
                        "its value is in the \(found.rawValue) layout, not \(layout.rawValue) as asked")
                }
                switch found {
                case .gokit:
                    let text = String(decoding: kv.value, as: UTF8.self).trimmingWhitespace()
                    return Instance(address: try HostPort(parsing: text).description, id: id)
                case .grpc:
                    return try GRPCNamingUpdate(json: kv.value).instance(id: id)
                }
            } catch {
                skipped.skipped(["sd.key": "\(key)", "sd.error": "\(error.message)"], logger: logger)
                return nil
            }
        }
    }

    private static func watch(client: EtcdClient, reader: KeyReader, cache: InstanceCache, logger: Logger)
        async
    {
        let prefix = reader.prefix
        let key = Array(prefix.utf8)
        let progress = Progress()
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))
        var compactionBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10))
        while !Task.isCancelled {
            do throws(DiscoveryError) {
                if progress.state.withLock({ $0.needRange }) {
                    let (kvs, revision) = try await client.range(prefix: key)
                    let sorted = reader.instances(kvs)
                    progress.state.withLock { state in
                        state.instances = sorted
                        state.revision = revision
                        state.needRange = false
                        state.changedSinceRange = false
                    }
                    cache.update(sorted.sorted)
                    backoff.reset()
                }
                let start = progress.state.withLock { $0.revision } + 1
                // On the event loop: the handler only updates state under a lock and publishes.
                try await client.watch(
                    prefix: key, startRevision: start,
                    onEventLoop: { event in
                        progress.state.withLock { $0.watchAnswered = true }
                        switch event {
                        case .created:
                            // Watching again from the revision the set was read at: it is current
                            // (after a failure, this is what clears its staleness).
                            cache.confirm()
                            return true
                        case .compacted(let revision):
                            logger.info(
                                "history compacted; reading the prefix again",
                                metadata: ["sd.revision": "\(revision)", "sd.prefix": "\(prefix)"])
                            progress.state.withLock { $0.needRange = true }
                            return false
                        case .changes(let changes, let revision):
                            let set = progress.state.withLock { state -> [Instance] in
                                state.changedSinceRange = true
                                for change in changes {
                                    switch change.kind {
                                    case .put:
                                        state.instances.set(reader.parse(change.kv), for: change.kv.key)
                                    case .delete:
                                        state.instances.set(nil, for: change.kv.key)
                                    }
                                    state.revision = max(state.revision, change.kv.modRevision)
                                }
                                if changes.isEmpty { state.revision = max(state.revision, revision) }
                                return state.instances.sorted
                            }
                            cache.update(set)
                            return true
                        }
                    })
                // The watch ended without an error: the history was compacted past its start. A
                // compaction that follows a fresh read with nothing in between is not progress: a
                // server or proxy that keeps answering "compacted" gets a Range after a growing
                // delay, not one every millisecond.
                if progress.state.withLock({ $0.changedSinceRange }) {
                    compactionBackoff.reset()
                } else {
                    let delay = compactionBackoff.next()
                    logger.debug(
                        "compacted again with no change read; waiting",
                        metadata: ["sd.prefix": "\(prefix)", "sd.delay": "\(delay)"])
                    try? await Task.sleep(for: delay)
                }
            } catch {
                if Task.isCancelled { return }
                cache.fail(error)
                // Only a watch that got an answer counts as a success: an outage must not be
                // retried at the initial delay for ever.
                if progress.state.withLock({ state in
                    defer { state.watchAnswered = false }
                    return state.watchAnswered
                }) {
                    backoff.reset()
                }
                let delay = backoff.next()
                logger.debug(
                    "watch failed; retrying", metadata: ["sd.error": "\(error)", "sd.delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            }
        }
    }
}
