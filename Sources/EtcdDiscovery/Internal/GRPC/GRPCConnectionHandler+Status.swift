import NIOCore
import NIOHPACK
import NIOHTTP2

extension GRPCConnectionHandler {
    /// The call's status from its trailers: `nil` for OK, the error otherwise.
    static func status(_ trailers: HPACKHeaders) -> GRPCError? {
        guard let text = trailers.first(name: "grpc-status"), let code = Int(text) else {
            return GRPCError(.internal, "the server's answer has no grpc-status")
        }
        guard code != 0 else { return nil }
        return GRPCError(
            GRPCError.Code(rawValue: code), percentDecoded(trailers.first(name: "grpc-message") ?? ""))
    }

    /// `grpc-message` is percent-encoded UTF-8 (PROTOCOL-HTTP2.md); a malformed escape is kept
    /// as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var input = Array(text.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "%"), input.count >= 2,
                let high = hexValue(input[input.startIndex]), let low = hexValue(input[input.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                input = input.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A stream reset by the server, as gRPC maps the HTTP/2 error codes.
    static func error(resetWith code: HTTP2ErrorCode) -> GRPCError {
        let message = "the server reset the stream (\(EtcdClient.words(for: code)))"
        switch code {
        case .refusedStream: return GRPCError(.unavailable, message)
        case .cancel: return GRPCError(.cancelled, message)
        case .enhanceYourCalm: return GRPCError(.resourceExhausted, message)
        case .inadequateSecurity: return GRPCError(.permissionDenied, message)
        default: return GRPCError(.internal, message)
        }
    }

    /// An HTTP status other than 200, as gRPC maps it (http-grpc-status-mapping.md).
    static func error(httpStatus: String) -> GRPCError {
        let message = "the server answered HTTP \(httpStatus), not gRPC"
        switch httpStatus {
        case "400": return GRPCError(.internal, message)
        case "401": return GRPCError(.unauthenticated, message)
        case "403": return GRPCError(.permissionDenied, message)
        case "404": return GRPCError(.unimplemented, message)
        case "429", "502", "503", "504": return GRPCError(.unavailable, message)
        default: return GRPCError(.unknown, message)
        }
    }

    /// A timeout as people read it.
    static func text(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
