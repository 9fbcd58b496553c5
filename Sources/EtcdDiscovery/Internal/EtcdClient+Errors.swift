import Discovery
import NIOCore
import NIOHTTP2
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

extension EtcdClient {
    /// Maps a gRPC failure onto the toolkit's codes, with a message that names the real cause.
    ///
    /// A failed connection reaches us as `unavailable` with a generic text from the transport
    /// ("could not establish a connection", "closed the connection before completing the HTTP/2
    /// connection preface"); the cause chain beneath it says whether it was a refused port, a
    /// certificate nobody trusts, or a TLS endpoint spoken to in plaintext.
    static func map(_ error: any Error, _ what: String) -> DiscoveryError {
        if let error = error as? DiscoveryError { return error }
        guard let error = error as? GRPCError else {
            return DiscoveryError(.io, "etcd: \(what): \(words(for: error))", cause: error)
        }
        let message = "etcd: \(what): \(describe(error))"
        switch error.code {
        case .unavailable, .deadlineExceeded, .cancelled, .aborted:
            return DiscoveryError(.unavailable, message, cause: error)
        case .unauthenticated, .permissionDenied:
            return DiscoveryError(.permissionDenied, message, cause: error)
        case .invalidArgument, .failedPrecondition, .outOfRange:
            return DiscoveryError(.invalidResponse, message, cause: error)
        case .notFound:
            return DiscoveryError(.notFound, message, cause: error)
        default:
            return DiscoveryError(.io, message, cause: error)
        }
    }

    /// One line for a gRPC error: the server's own text, or what lies under the transport's.
    static func describe(_ error: GRPCError) -> String {
        var root: (any Error)? = error.cause
        while let inner = (root as? GRPCError)?.cause { root = inner }
        let text = error.message.isEmpty ? "\(error.code)" : error.message
        switch root {
        case let failure as IOError:
            return "\(text.trimmingSuffix(".")): \(String(cString: strerror(failure.errnoCode)))"
        case let failure as NIOSSLError:
            return describe(failure)
        case let failure as BoringSSLError:
            return describe(handshake: failure)
        case .some(let other):
            return "\(text): \(words(for: other))"
        case .none where text.contains("HTTP/2 connection preface"):
            // The server took the connection and then hung up: the usual reply of a TLS
            // endpoint to a plaintext client.
            return "\(text) (a TLS endpoint? use etcds:// and ETCDCTL_CACERT)"
        case .none:
            return text
        }
    }

    /// What a transport error means, in words rather than a Swift case name.
    static func words(for error: any Error) -> String {
        switch error {
        case let failure as ChannelError:
            switch failure {
            case .connectTimeout: return "connect timed out"
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
                return "the connection closed"
            default: return "the connection failed"
            }
        case is ChannelPipelineError:
            // The handler is gone from the pipeline: the connection closed as it was made.
            return "the server closed the connection at once"
        case is NIOHTTP2Errors.FlowControlViolation, is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering:
            return "the server broke HTTP/2 flow control"
        case is NIOHTTP2Errors.ExcessiveEmptyDataFrames, is NIOHTTP2Errors.ExcessiveRSTFrames:
            return "the server flooded the connection"
        case let failure as IOError:
            return String(cString: strerror(failure.errnoCode))
        default:
            return "the connection failed (\(type(of: error)))"
        }
    }

    /// An HTTP/2 error code as RFC 9113 names it, in lower case.
    static func words(for code: HTTP2ErrorCode) -> String {
        switch code {
        case .noError: "no error"
        case .protocolError: "protocol error"
        case .internalError: "internal error"
        case .flowControlError: "flow-control error"
        case .settingsTimeout: "settings timeout"
        case .streamClosed: "stream closed"
        case .frameSizeError: "frame size error"
        case .refusedStream: "refused stream"
        case .cancel: "cancelled"
        case .compressionError: "compression error"
        case .connectError: "connect error"
        case .enhanceYourCalm: "enhance your calm"
        case .inadequateSecurity: "inadequate security"
        case .http11Required: "HTTP/1.1 required"
        default: "error code \(code.networkCode)"
        }
    }

    static func describe(_ error: NIOSSLError) -> String {
        switch error {
        case .handshakeFailed(let failure): describe(handshake: failure)
        case .failedToLoadCertificate: "TLS: cannot load the certificate file (is it PEM?)"
        case .failedToLoadPrivateKey: "TLS: cannot load the private key file (is it PEM?)"
        case .noSuchFilesystemObject: "TLS: a certificate or key file does not exist"
        default: "TLS: \(error)"
        }
    }

    /// The TLS reason (BoringSSL's name for it) and what it usually means here.
    static func describe(handshake error: BoringSSLError) -> String {
        let reasons: [String]
        switch error {
        case .sslError(let stack), .unknownError(let stack):
            reasons = stack.map { entry in
                let text = entry.description
                guard let colon = text.firstRange(of: "OPENSSL_internal:") else { return text }
                return String(text[colon.upperBound...].prefix { $0 != " " })
            }
        default:
            reasons = ["\(error)"]
        }
        let reason = reasons.first ?? "\(error)"
        let hint: String
        switch reason {
        case "CERTIFICATE_VERIFY_FAILED":
            hint = " (the server's certificate is not signed by a trusted CA; set the CA file)"
        case let name where name.contains("ALERT_BAD_CERTIFICATE") || name.contains("CERTIFICATE_REQUIRED"):
            hint = " (the server refused the client certificate, or wants one)"
        default:
            hint = ""
        }
        return "TLS handshake failed: \(reason)\(hint)"
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : self[...]
    }
}
