import DiscoveryHTTP
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A Kubernetes `Status`: how the API server explains a refusal, in an answer's body or in a
/// watch's ERROR event.
public struct KubernetesStatus: Error, Sendable, Hashable, Decodable, CustomStringConvertible,
    RefusalExplanation
{
    /// The HTTP status it stands for: 410 is a resource version too old (list again).
    public var code: Int
    /// `NotFound`, `Forbidden`, `Expired`, ...
    public var reason: String?
    public var message: String?

    public init(code: Int, reason: String? = nil, message: String? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// A resource version or continue token the server no longer has.
    public var isGone: Bool { code == 410 }

    /// `reason: message`, one line of printable characters.
    public var summary: String {
        let text = [reason, message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        return HTTPTransport.oneLine(Array(text.utf8))
    }

    public var description: String { "\(code) \(summary)" }

    /// The Status in `body`, if it is one.
    static func decode(_ body: ByteBuffer) -> KubernetesStatus? {
        guard
            let status = try? JSONDecoder().decode(KubernetesStatus.self, from: Data(body.readableBytesView)),
            status.message != nil || status.reason != nil
        else { return nil }
        return status
    }
}
