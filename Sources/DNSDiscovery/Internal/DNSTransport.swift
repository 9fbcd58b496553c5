import Discovery
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Sends one query over a fresh UDP socket or TCP connection on swift-nio's event loops and
/// waits for its reply until `deadline`; the channel is closed whatever happens, cancellation
/// included. (``DNSSocketExchange`` is the same without swift-nio.)
enum DNSTransport {
    /// The largest UDP reply taken as whole: the payload size a query advertises. Datagrams are
    /// read into a buffer one byte larger, so a fuller one was cut short.
    static let datagramLimit = Int(DNSMessage.advertisedPayloadSize)

    static func exchange(
        _ query: [UInt8], matcher: DNSReplyMatcher, server: SocketAddress, overTCP: Bool,
        deadline: NIODeadline, group: any EventLoopGroup
    ) async throws(DiscoveryError) -> DNSMessage {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: DNSMessage.self)
        let transport = overTCP ? "TCP" : "UDP"
        let timeout = eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(
                DiscoveryError(
                    .unavailable, "no answer from \(server.dnsDescription) over \(transport) in time"))
        }
        do {
            let channel: any Channel
            if overTCP {
                channel = try await ClientBootstrap(group: eventLoop)
                    .connectTimeout(max(deadline - .now(), .milliseconds(1)))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                DNSStreamHandler(server: server, matcher: matcher, promise: promise))
                        }
                    }
                    .connect(to: server).get()
                var framed = channel.allocator.buffer(capacity: query.count + 2)
                framed.writeInteger(UInt16(query.count))
                framed.writeBytes(query)
                channel.writeAndFlush(framed, promise: nil)
            } else {
                // Connected, so the kernel delivers only the server's datagrams and reports an
                // ICMP port-unreachable as ECONNREFUSED instead of leaving us to time out.
                channel = try await DatagramBootstrap(group: eventLoop)
                    .channelOption(
                        .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: datagramLimit + 1)
                    )
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                DNSDatagramHandler(server: server, matcher: matcher, promise: promise))
                        }
                    }
                    .connect(to: server).get()
                let envelope = AddressedEnvelope(
                    remoteAddress: server, data: channel.allocator.buffer(bytes: query))
                channel.writeAndFlush(envelope, promise: nil)
            }
            promise.futureResult.whenComplete { _ in
                timeout.cancel()
                channel.close(promise: nil)
            }
        } catch {
            timeout.cancel()
            promise.fail(error)
        }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(DiscoveryError(.stopped, "query cancelled"))
            }
        } catch let error as DiscoveryError {
            throw error
        } catch {
            throw DiscoveryError(
                .unavailable, "\(server.dnsDescription) over \(transport): \(Self.describe(error))",
                cause: error)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if error is ChannelError, case .connectTimeout = error as! ChannelError { return "connect timed out" }
        return "\(error)"
    }
}

extension SocketAddress {
    /// `ip:port`, brackets around IPv6.
    var dnsDescription: String {
        guard let ip = ipAddress, let port else { return description }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
