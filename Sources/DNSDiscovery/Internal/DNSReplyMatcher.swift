import Discovery

/// What every transport checks on a reply: the query's id, then (decoded) a response to the
/// query's question. A reply with another id or question is not ours and is dropped, so a
/// spoofed or stale datagram cannot end the wait; a reply with our id that cannot be decoded
/// fails the exchange.
struct DNSReplyMatcher: Sendable {
    let id: UInt16
    let question: DNSQuestion

    /// The reply, or why our reply cannot be read; nil for bytes that are not a reply to this
    /// query (to be dropped).
    func match(_ bytes: UnsafeRawBufferPointer) -> Result<DNSMessage, DiscoveryError>? {
        guard hasOurID(bytes) else { return nil }
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: bytes)
        } catch {
            return .failure(error)
        }
        guard message.isResponse else { return nil }
        // A server that could not parse the query (FORMERR) may send no question back.
        let answersQuestion =
            message.questions.count == 1
            ? message.questions[0].matches(question)
            : message.questions.isEmpty && message.responseCode != .noError
        return answersQuestion ? .success(message) : nil
    }

    /// Whether `bytes`, a datagram cut short by the receive buffer, begin with a response header
    /// carrying this query's id: only the header of such a datagram is whole.
    func isOurResponseHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        hasOurID(bytes) && bytes.count >= 4 && bytes[2] & 0x80 != 0
    }

    private func hasOurID(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id
    }
}

/// A UDP reply larger than the payload size the query advertised: asked again over TCP.
struct OversizedReply: Error {}

extension DiscoveryError {
    /// The failure of a UDP reply over the advertised payload size, which the client asks again
    /// over TCP.
    static var oversizedReply: DiscoveryError {
        DiscoveryError(.invalidResponse, "UDP reply over the advertised size", cause: OversizedReply())
    }
}
