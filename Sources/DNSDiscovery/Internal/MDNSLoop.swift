import CMDNSSocket
import Discovery
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a multicast DNS state machine asks its loop to send.
enum MDNSOutgoing: Sendable {
    /// To both groups on every interface.
    case multicast([UInt8])
    /// To one peer: a reply to a legacy unicast query (RFC 6762 section 6.7).
    case unicast([UInt8], to: MDNSSockets.Peer)
    /// Not a packet: called once the packets before it are handed to the kernel (a goodbye's
    /// sender may exit as soon as it hears).
    case sent(@Sendable () -> Void)
}

/// A querier or responder as ``MDNSLoop`` drives it: confined to the loop's thread, told of
/// every packet, command and passing deadline, and answering with what to send.
protocol MDNSDriver: AnyObject, SendableMetatype {
    associatedtype Command: Sendable
    func start(now: ContinuousClock.Instant) -> [MDNSOutgoing]
    /// `true` in the result ends the loop after the packets are sent.
    func handle(_ command: Command, now: ContinuousClock.Instant) -> (outgoing: [MDNSOutgoing], stop: Bool)
    func receive(_ message: DNSMessage, from peer: MDNSSockets.Peer, now: ContinuousClock.Instant)
        -> [MDNSOutgoing]
    func tick(now: ContinuousClock.Instant) -> [MDNSOutgoing]
    /// When ``tick(now:)`` is next due; `nil` when nothing is.
    var deadline: ContinuousClock.Instant? { get }
}

/// A thread of its own waiting with poll(2) on one ``MDNSSockets`` and a wake-up descriptor,
/// feeding one driver: every received packet goes through the fuzzed decoder
/// (``DNSMessage/init(decoding:)-([UInt8])``) first, and a packet it refuses is dropped
/// (counted in the debug log). Commands from other threads are queued and the loop woken.
final class MDNSLoop<Driver: MDNSDriver>: Sendable {
    private let commands = Mutex<(queue: [Driver.Command], closed: Bool)>(([], false))
    /// An eventfd: written to wake the loop.
    private let wake: Int32
    private let logger: Logger

    init(logger: Logger) throws(DiscoveryError) {
        wake = sdctl_mdns_eventfd()
        guard wake >= 0 else {
            throw DiscoveryError(.unavailable, "cannot make an eventfd: \(MDNSSockets.describe(errno))")
        }
        self.logger = logger
    }

    deinit { close(wake) }

    /// Queues `command` for the driver; `false` once the loop has ended.
    @discardableResult
    func send(_ command: Driver.Command) -> Bool {
        let queued = commands.withLock { state in
            guard !state.closed else { return false }
            state.queue.append(command)
            return true
        }
        if queued {
            var one: UInt64 = 1
            _ = write(wake, &one, 8)
        }
        return queued
    }

    /// Runs `driver` on a new thread until a command stops it; `ended` runs on that thread last.
    func start(
        sockets: sending MDNSSockets, driver: sending Driver, ended: @escaping @Sendable () -> Void
    ) {
        let owned = MDNSLoopHandOff(sockets, driver)
        runOnNewThread { [self] in
            run(sockets: owned.sockets, driver: owned.driver)
            ended()
        }
    }

    private func run(sockets: MDNSSockets, driver: Driver) {
        var dropped = 0
        perform(driver.start(now: .now), on: sockets)
        while true {
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            for socket in [sockets.ipv4, sockets.ipv6] where socket >= 0 {
                descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0))
            }
            var timeout: Int32 = -1
            if let deadline = driver.deadline {
                let left = deadline - .now
                let (seconds, attoseconds) = left.components
                timeout =
                    left <= .zero
                    ? 0
                    : Int32(
                        clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                    )
            }
            if poll(&descriptors, nfds_t(descriptors.count), timeout) < 0, errno != EINTR {
                logger.error("mDNS poll failed", metadata: ["sd.error": "\(MDNSSockets.describe(errno))"])
                return
            }
            if descriptors[0].revents != 0 {
                var count: UInt64 = 0
                _ = read(wake, &count, 8)
                let queue = commands.withLock { state in
                    defer { state.queue = [] }
                    return state.queue
                }
                for command in queue {
                    let (outgoing, stop) = driver.handle(command, now: .now)
                    perform(outgoing, on: sockets)
                    if stop {
                        commands.withLock { $0.closed = true }
                        return
                    }
                }
            }
            for descriptor in descriptors.dropFirst() where descriptor.revents != 0 {
                // A bounded batch per wake-up: a flood on one socket does not starve the other
                // socket, the commands or the timers.
                for _ in 0..<64 {
                    guard let received = sockets.receive(on: descriptor.fd) else { break }
                    guard let (bytes, peer) = received else {
                        dropped += 1
                        continue
                    }
                    let message: DNSMessage
                    do {
                        message = try bytes.withUnsafeBytes { try DNSMessage(decoding: $0) }
                    } catch {
                        dropped += 1
                        logger.debug(
                            "dropping a malformed mDNS packet",
                            metadata: [
                                "sd.peer": "\(peer)", "sd.error": "\(error)", "sd.dropped": "\(dropped)",
                            ])
                        continue
                    }
                    logger.debug(
                        "mDNS packet received",
                        metadata: [
                            "sd.peer": "\(peer)", "sd.response": "\(message.isResponse)",
                            "sd.questions":
                                "\(message.questions.map { "\($0.name) \($0.type) \($0.questionClass)" })",
                            "sd.records":
                                "\((message.answers + message.additionals).map { "\($0.name) \($0.type) \($0.ttl)" })",
                        ])
                    perform(driver.receive(message, from: peer, now: .now), on: sockets)
                }
            }
            if let deadline = driver.deadline, deadline <= .now {
                perform(driver.tick(now: .now), on: sockets)
            }
        }
    }

    private func perform(_ outgoing: [MDNSOutgoing], on sockets: MDNSSockets) {
        for packet in outgoing {
            let errors: [String]
            switch packet {
            case .multicast(let bytes):
                errors = sockets.sendMulticast(bytes)
            case .unicast(let bytes, let peer):
                errors = sockets.sendUnicast(bytes, to: peer).map { [$0] } ?? []
            case .sent(let done):
                done()
                errors = []
            }
            for error in errors {
                logger.debug("mDNS send failed", metadata: ["sd.error": "\(error)"])
            }
        }
    }
}

/// The sockets and driver on their way to the loop's thread, which alone uses them after.
private final class MDNSLoopHandOff<Driver: MDNSDriver>: @unchecked Sendable {
    let sockets: MDNSSockets
    let driver: Driver
    init(_ sockets: MDNSSockets, _ driver: Driver) {
        self.sockets = sockets
        self.driver = driver
    }
}
