import Discovery
import NIOCore

extension DNSClient {
    /// The zone `name` belongs to: the owner of the SOA record that an SOA query for it
    /// returns, in the answer (a zone apex) or the authority section.
    public func zone(of name: String, deadline: ContinuousClock.Instant? = nil) async throws(DiscoveryError)
        -> String
    {
        let response = try await query(exactly: name, type: .soa, deadline: deadline)
        let soa = (response.message.answers + response.message.authorities).first { $0.type == .soa }
        guard let soa else {
            throw DiscoveryError(
                .notFound, "no zone found for \(name): \(response.server) sent no SOA record")
        }
        return soa.name
    }

    /// Sends an RFC 2136 UPDATE (from ``DNSMessage/update(id:zone:name:ttl:priority:weight:port:target:)``)
    /// to the first server that answers, over UDP; a refusal is
    /// `DiscoveryError/Code/permissionDenied`, any other error code `DiscoveryError/Code/unavailable`.
    public func sendUpdate(
        zone: String, name: String, ttl: UInt32?, priority: UInt16, weight: UInt16, port: UInt16,
        target: String,
        timeout: Duration = .seconds(5)
    ) async throws(DiscoveryError) {
        var lastFailure = DiscoveryError(.invalidArgument, "no DNS server configured")
        for server in configuration.servers {
            let id = UInt16.random(in: .min ... .max)
            let update = try DNSMessage.update(
                id: id, zone: zone, name: name, ttl: ttl, priority: priority, weight: weight, port: port,
                target: target)
            let reply: DNSMessage
            do {
                let address = try SocketAddress.dnsServer(server)
                reply = try await exchange(
                    update, id: id, question: DNSQuestion(name: DNSName.relative(zone), type: .soa),
                    server: address, overTCP: false, deadline: .now + timeout)
            } catch let error as DiscoveryError {
                lastFailure = error
                continue
            } catch {
                lastFailure = DiscoveryError(.invalidArgument, "invalid DNS server '\(server)'", cause: error)
                continue
            }
            switch reply.responseCode {
            case .noError:
                return
            case .refused, .notImplemented:
                throw DiscoveryError(
                    .permissionDenied,
                    "\(server) refused the update of \(zone) (\(reply.responseCode)); it must allow RFC 2136 updates from this host",
                    cause: reply.responseCode)
            default:
                lastFailure = DiscoveryError(
                    .unavailable, "\(server) answered \(reply.responseCode) to the update of \(zone)",
                    cause: reply.responseCode)
            }
        }
        throw lastFailure
    }
}
