import Discovery
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A stub resolver: asks the configured servers one question and returns the reply.
///
/// Each attempt sends the query over UDP from a fresh socket (a random source port and id),
/// with EDNS0 advertising a 1232-byte payload; a truncated reply is asked again over TCP. A
/// server that does not answer within ``DNSResolverConfiguration/timeout``, cannot be reached,
/// or answers SERVFAIL, REFUSED, NOTIMP or FORMERR, or something that cannot be decoded, is
/// followed by the next server; ``DNSResolverConfiguration/attempts`` rounds over all servers
/// are made, within the caller's deadline. NXDOMAIN and empty answers move on to the next name
/// of the search list and are returned when it ends: they are answers, not failures. As in
/// glibc, SERVFAIL from every server also moves on; any other failure ends the search. A search
/// that found nothing but had a SERVFAIL on its way ends in that failure (glibc's TRY_AGAIN),
/// not in a negative answer: the name that failed may well exist.
public final class DNSClient: Sendable {
    public let configuration: DNSResolverConfiguration
    public let transport: Transport
    private let logger: Logger
    /// Where the next query starts when ``DNSResolverConfiguration/rotate`` is set.
    private let nextServer = Atomic<Int>(0)

    /// A client whose queries go over channels on `group`'s event loops.
    ///
    /// - Parameters:
    ///   - configuration: The servers, search list and timeouts.
    ///   - group: The event loops the channels run on.
    ///   - logger: Where the client logs (server failures, at debug level).
    public convenience init(
        configuration: DNSResolverConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = DiscoveryLogging.disabled
    ) {
        self.init(configuration: configuration, transport: .eventLoops(group), logger: logger)
    }

    /// A client whose queries go by `transport`.
    ///
    /// - Parameters:
    ///   - configuration: The servers, search list and timeouts.
    ///   - transport: How each exchange reaches a server: ``Transport/eventLoops(_:)`` or
    ///     ``Transport/threadPerExchange``.
    ///   - logger: Where the client logs (server failures, at debug level).
    public init(
        configuration: DNSResolverConfiguration, transport: Transport,
        logger: Logger = DiscoveryLogging.disabled
    ) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger.forBackend("dns")
    }

    /// Asks for `type` records of `name`, trying the search list as the configuration says.
    ///
    /// Throws `DiscoveryError/Code/unavailable` when no server gave a usable answer (the
    /// message names the last failure), `DiscoveryError/Code/timedOut` when `deadline` passed
    /// first, `DiscoveryError/Code/invalidArgument` for a name that cannot be sent.
    public func query(
        _ name: String, type: DNSRecordType, deadline: ContinuousClock.Instant? = nil
    ) async throws(DiscoveryError) -> DNSResponse {
        var negative: DNSResponse?
        var serverFailure: DiscoveryError?
        for candidate in configuration.candidates(for: name) {
            let response: DNSResponse
            do {
                response = try await query(exactly: candidate, type: type, deadline: deadline)
            } catch let error where (error.cause as? DNSResponseCode) == .serverFailure {
                // As glibc's res_search: SERVFAIL for one candidate moves on to the next; any
                // other failure ends the search.
                serverFailure = error
                continue
            }
            let code = response.message.responseCode
            if code == .noError,
                response.message.answers.contains(where: { $0.type == type || $0.type == .cname })
            {
                return response
            }
            // When every candidate fails, an empty answer for any of them is reported over
            // NXDOMAIN (glibc's got_nodata); otherwise the first NXDOMAIN.
            if negative == nil || (negative!.message.responseCode == .nameError && code == .noError) {
                negative = response
            }
        }
        // A temporary failure of any candidate makes the whole answer a temporary failure: with
        // several search domains (Kubernetes' ndots:5) one upstream hiccup for the real name
        // would otherwise read as "does not exist" and empty a watched set.
        if let serverFailure { throw serverFailure }
        return negative!
    }

    /// Asks for `type` records of exactly `name` (no search list).
    public func query(
        exactly name: String, type: DNSRecordType, deadline: ContinuousClock.Instant? = nil
    ) async throws(DiscoveryError) -> DNSResponse {
        let question = DNSQuestion(name: DNSName.relative(name), type: type)
        let servers = configuration.servers
        guard !servers.isEmpty else { throw DiscoveryError(.invalidArgument, "no DNS server configured") }
        let first = configuration.rotate ? nextServer.add(1, ordering: .relaxed).oldValue : 0
        var lastFailure: DiscoveryError?
        for _ in 0..<max(configuration.attempts, 1) {
            for offset in 0..<servers.count {
                let server = servers[(first + offset) % servers.count]
                var timeout = configuration.timeout
                if let deadline {
                    let left = deadline - .now
                    guard left > .zero else {
                        let why = lastFailure.map { ": \($0.message)" } ?? ""
                        throw DiscoveryError(
                            .timedOut, "no usable answer for \(question.name) in time\(why)",
                            cause: lastFailure)
                    }
                    timeout = min(timeout, left)
                }
                do {
                    let response = try await exchange(question, with: server, timeout: timeout)
                    switch response.message.responseCode {
                    case .noError, .nameError:
                        return response
                    default:
                        lastFailure = DiscoveryError(
                            .unavailable,
                            "\(server) answered \(response.message.responseCode) for \(question.name) \(type)",
                            cause: response.message.responseCode)
                    }
                } catch {
                    if Task.isCancelled { throw DiscoveryError(.stopped, "query cancelled", cause: error) }
                    lastFailure = error
                }
                logger.debug(
                    "DNS server failed; trying the next",
                    metadata: ["sd.server": "\(server)", "sd.error": "\(lastFailure!.message)"])
            }
        }
        throw lastFailure!
    }

    /// One query to one server: UDP, then TCP if the UDP reply was truncated.
    private func exchange(_ question: DNSQuestion, with server: HostPort, timeout: Duration)
        async throws(DiscoveryError)
        -> DNSResponse
    {
        let address: SocketAddress
        do {
            address = try SocketAddress.dnsServer(server)
        } catch {
            throw DiscoveryError(.invalidArgument, "invalid DNS server '\(server)'", cause: error)
        }
        let deadline = ContinuousClock.now + timeout
        let id = UInt16.random(in: .min ... .max)
        let query = try DNSMessage.query(id: id, name: question.name, type: question.type)
        do {
            let udp = try await exchange(
                query, id: id, question: question, server: address, overTCP: false, deadline: deadline)
            guard udp.isTruncated else {
                return DNSResponse(message: udp, server: "\(server)", name: question.name, overTCP: false)
            }
            logger.debug("UDP reply truncated; asking over TCP", metadata: ["sd.server": "\(server)"])
        } catch  where error.cause is OversizedReply {
            logger.debug(
                "UDP reply over the advertised size; asking over TCP", metadata: ["sd.server": "\(server)"])
        }
        let tcpID = UInt16.random(in: .min ... .max)
        let tcpQuery = try DNSMessage.query(id: tcpID, name: question.name, type: question.type)
        let tcp = try await exchange(
            tcpQuery, id: tcpID, question: question, server: address, overTCP: true, deadline: deadline)
        guard !tcp.isTruncated else {
            throw DiscoveryError(.invalidResponse, "\(server) sent a truncated reply over TCP")
        }
        return DNSResponse(message: tcp, server: "\(server)", name: question.name, overTCP: true)
    }
}
