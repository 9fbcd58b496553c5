import Discovery
import NIOCore
import NIOPosix
import Synchronization

/// A client's one connection to a set of endpoints, made when a call needs it: gRPC's
/// pick-first. The endpoints are tried in order and the first that answers is used until that
/// connection is lost or the server sends GOAWAY; the next call then goes down the list again
/// (names are looked up afresh each time, so a member that moved is found). A connection
/// given up with ``abandon(_:)`` (its member has no leader, or let a call pass its deadline)
/// sends the next one down the list from the endpoint after it, so a partitioned member is
/// not the first tried again.
///
/// Calls that arrive while a connection is being made wait for it; when no endpoint answers
/// they all fail with the last endpoint's error, and the next call tries again.
final class GRPCChannel: Sendable {
    let endpoints: [HostPort]
    let configuration: GRPCConnection.Configuration
    let group: any EventLoopGroup
    private let state = Mutex(State.idle)
    /// The keepalive interval of the next connection: the configured one, doubled each time a
    /// server answers GOAWAY "too_many_pings" (gRPC's keepalive spec), at most an hour. A
    /// grpc-go proxy with its default five-minute minimum would otherwise drop the connection
    /// every few pings.
    private let keepaliveInterval: Mutex<TimeAmount>
    /// Where the next connection attempt starts in ``endpoints``.
    private let firstEndpoint = Mutex(0)

    static let longestKeepaliveInterval = TimeAmount.hours(1)

    /// Where the channel stands. Its methods decide; the caller acts, outside the lock.
    enum State {
        case idle
        case connecting(EventLoopFuture<GRPCConnection>)
        /// Connected to `endpoints[endpoint]`.
        case ready(GRPCConnection, endpoint: Int)
        case closed

        enum Action {
            case use(GRPCConnection)
            case wait(EventLoopFuture<GRPCConnection>)
            case connect(EventLoopPromise<GRPCConnection>)
            case fail
        }

        mutating func connection(promise: () -> EventLoopPromise<GRPCConnection>) -> Action {
            switch self {
            case .ready(let connection, _) where connection.isUsable:
                return .use(connection)
            case .idle, .ready:
                let promise = promise()
                self = .connecting(promise.futureResult)
                return .connect(promise)
            case .connecting(let future):
                return .wait(future)
            case .closed:
                return .fail
            }
        }

        /// A connection was made; `false`: the channel was closed meanwhile, close it.
        mutating func connected(_ connection: GRPCConnection, endpoint: Int) -> Bool {
            guard case .connecting = self else { return false }
            self = .ready(connection, endpoint: endpoint)
            return true
        }

        mutating func connectFailed() {
            if case .connecting = self { self = .idle }
        }

        mutating func lost(_ connection: GRPCConnection) {
            if case .ready(let current, _) = self, current === connection { self = .idle }
        }

        /// Gives up `connection` if it is the current one; returns its endpoint then.
        mutating func abandon(_ connection: GRPCConnection) -> Int? {
            guard case .ready(let current, let endpoint) = self, current === connection else { return nil }
            self = .idle
            return endpoint
        }

        /// Returns the connection to close, if there is one.
        mutating func close() -> GRPCConnection? {
            defer { self = .closed }
            if case .ready(let connection, _) = self { return connection }
            return nil
        }
    }

    init(endpoints: [HostPort], configuration: GRPCConnection.Configuration, group: any EventLoopGroup) {
        self.endpoints = endpoints
        self.configuration = configuration
        self.group = group
        keepaliveInterval = Mutex(configuration.handler.keepaliveInterval)
    }

    /// The server refused our pings as too many: later connections ping half as often.
    func tooManyPings() {
        keepaliveInterval.withLock { interval in
            interval = min(interval * 2, Self.longestKeepaliveInterval)
        }
    }

    /// What the next connection is made with.
    var connectionConfiguration: GRPCConnection.Configuration {
        var configuration = self.configuration
        configuration.handler.keepaliveInterval = keepaliveInterval.withLock { $0 }
        configuration.handler.tooManyPings = { [weak self] in self?.tooManyPings() }
        return configuration
    }

    /// A connection that takes calls, made now if there is none. Cancelling the caller's task
    /// ends its wait.
    func connection() async throws(GRPCError) -> GRPCConnection {
        let group = self.group
        let action = state.withLock { $0.connection { group.next().makePromise() } }
        let future: EventLoopFuture<GRPCConnection>
        switch action {
        case .use(let connection):
            return connection
        case .wait(let pending):
            future = pending
        case .connect(let promise):
            // Unstructured: a caller that gives up must not fail the others waiting.
            Task { await establish(promise) }
            future = promise.futureResult
        case .fail:
            throw GRPCError(.cancelled, "the client is closed")
        }
        // The wait ends with the caller's task: the connection attempt goes on for the others.
        let waiter = future.eventLoop.makePromise(of: GRPCConnection.self)
        future.cascade(to: waiter)
        do {
            return try await withTaskCancellationHandler {
                try await waiter.futureResult.get()
            } onCancel: {
                waiter.fail(GRPCError(.cancelled, "cancelled while connecting"))
            }
        } catch {
            throw error as? GRPCError ?? GRPCError(.unavailable, EtcdClient.words(for: error), cause: error)
        }
    }

    /// Closes `connection`, whose member cannot serve, and makes the next connection start at
    /// the endpoint after its own; the other calls on it fail as unavailable and are made again
    /// there. Returns `false`, doing nothing, when there is no other endpoint to go to, or when
    /// `connection` is no longer the current one (a call on it already did this, or it was
    /// lost).
    @discardableResult
    func abandon(_ connection: GRPCConnection) -> Bool {
        guard endpoints.count > 1, let endpoint = state.withLock({ $0.abandon(connection) }) else {
            return false
        }
        firstEndpoint.withLock { $0 = (endpoint + 1) % endpoints.count }
        connection.close()
        return true
    }

    /// Ends the connection; calls on it fail, later calls fail at once.
    func close() {
        state.withLock { $0.close() }?.close()
    }

    private func establish(_ promise: EventLoopPromise<GRPCConnection>) async {
        var failure = GRPCError(.unavailable, "no endpoints")
        let first = firstEndpoint.withLock { $0 }
        for offset in endpoints.indices {
            let index = (first + offset) % endpoints.count
            let endpoint = endpoints[index]
            let addresses: [SocketAddress]
            do {
                addresses = try await Self.addresses(of: endpoint)
            } catch {
                failure = error
                continue
            }
            for address in addresses {
                do {
                    let connection = try await GRPCConnection.connect(
                        to: address, host: endpoint.host, port: Int(endpoint.port),
                        configuration: connectionConfiguration,
                        group: group)
                    guard state.withLock({ $0.connected(connection, endpoint: index) }) else {
                        connection.close()
                        promise.fail(GRPCError(.cancelled, "the client is closed"))
                        return
                    }
                    connection.channel.closeFuture.whenComplete { [weak self] _ in
                        self?.state.withLock { $0.lost(connection) }
                    }
                    promise.succeed(connection)
                    return
                } catch {
                    failure = error
                }
            }
        }
        state.withLock { $0.connectFailed() }
        promise.fail(failure)
    }

    /// The socket addresses of an endpoint: its IP literal, or what its name resolves to
    /// (getaddrinfo, on NIO's blocking-work pool, so /etc/hosts is honoured).
    static func addresses(of endpoint: HostPort) async throws(GRPCError) -> [SocketAddress] {
        let port = Int(endpoint.port)
        do {
            if EtcdEndpoints.isIPLiteral(endpoint.host) {
                return [try SocketAddress(ipAddress: endpoint.host, port: port)]
            }
            let host = endpoint.host
            let hosts = try await NIOThreadPool.singleton.runIfActive { EtcdEndpoints.lookUp(host) }
            guard !hosts.isEmpty else { throw GRPCError(.unavailable, "cannot resolve \(host)") }
            return try hosts.map { try SocketAddress(ipAddress: $0, port: port) }
        } catch {
            throw error as? GRPCError
                ?? GRPCError(.unavailable, "cannot resolve \(endpoint.host)", cause: error)
        }
    }
}
