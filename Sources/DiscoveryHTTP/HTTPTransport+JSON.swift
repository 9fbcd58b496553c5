import Discovery
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HTTPTransport {
    /// Decodes a JSON answer in place; anything undecodable is
    /// ``DiscoveryError/Code/invalidResponse`` saying where it failed.
    package func decode<Value: Decodable>(_ type: Value.Type, _ body: ByteBuffer, what: String)
        throws(DiscoveryError)
        -> Value
    {
        do {
            return try body.withUnsafeReadableBytes { raw in
                try JSONDecoder().decode(type, from: JSONArrayScanner.borrowing(raw, 0..<raw.count))
            }
        } catch {
            throw DiscoveryError(
                .invalidResponse,
                "\(service): \(what): undecodable answer (\(Self.describe(decoding: error)))",
                cause: error)
        }
    }

    /// Where decoding failed, in one line.
    package static func describe(decoding error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
                .joined()
            return keys.isEmpty ? "at the top" : "at \(keys)"
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "bad value \(path(context))"
        case .keyNotFound(let key, let context): return "missing \(key.stringValue) \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type \(path(context))"
        @unknown default: return "\(error)"
        }
    }
}
