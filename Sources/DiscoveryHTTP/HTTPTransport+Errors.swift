import AsyncHTTPClient
import Discovery
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension HTTPTransport {
    /// Maps an answer that is not 2xx, quoting the server's reason (its body, one line).
    package func map(status: HTTPResponseStatus, body: ByteBuffer, what: String) -> DiscoveryError {
        let explanation = explainRefusal?(status, body)
        let reason = explanation?.summary ?? Self.oneLine(Array(body.readableBytesView.prefix(400)))
        let message = "\(service): \(what): \(status.code) \(reason.isEmpty ? status.reasonPhrase : reason)"
        let code: DiscoveryError.Code =
            switch status.code {
            case 400: .invalidArgument
            case 401, 403: .permissionDenied
            case 404: .notFound
            case 429, 500..<600: .unavailable
            default: .invalidResponse
            }
        return DiscoveryError(code, message, cause: explanation)
    }

    /// Maps a failure to get any answer: the server unreachable, TLS refused, the deadline passed.
    func map(transport error: any Error, what: String, deadline: Duration) -> DiscoveryError {
        if let error = error as? DiscoveryError { return error }
        if error is CancellationError {
            return DiscoveryError(.stopped, "\(service): \(what): cancelled", cause: error)
        }
        let prefix = "\(service): \(what): \(peer) \(address)"
        if error is HTTPParserError {
            // llhttp's own words ("invalid constant string") mean nothing to a user.
            return DiscoveryError(
                .invalidResponse, "\(prefix) answered with something that is not HTTP", cause: error)
        }
        if error is NIOTooManyBytesError {
            return DiscoveryError(
                .invalidResponse, "\(prefix) sent a reply over \(Self.bodyLimit >> 20) MiB", cause: error)
        }
        if let failure = error as? HTTPClientError {
            switch failure {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                let seconds = Double(deadline.wholeMilliseconds) / 1000
                return DiscoveryError(.timedOut, "\(prefix) gave no answer within \(seconds) s", cause: error)
            case .connectTimeout:
                return DiscoveryError(.unavailable, "\(prefix): connect timed out", cause: error)
            case .cancelled:
                return DiscoveryError(.stopped, "\(service): \(what): cancelled", cause: error)
            case .alreadyShutdown:
                return DiscoveryError(.stopped, "\(service): \(what): the client is closed", cause: error)
            case .remoteConnectionClosed:
                return DiscoveryError(.unavailable, "\(prefix) closed the connection", cause: error)
            default:
                return DiscoveryError(.unavailable, "\(prefix): \(failure)", cause: error)
            }
        }
        return DiscoveryError(.unavailable, "\(prefix): \(describe(error))", cause: error)
    }

    /// What failed, with a TLS failure said as which certificate and why.
    private func describe(_ error: any Error) -> String {
        var detail: String?
        switch error {
        case let failure as NIOConnectionError:
            if let first = failure.connectionErrors.first { return describe(first.error) }
        case let failure as NIOSSLError:
            detail = "\(failure)"
        case let failure as BoringSSLError:
            // A server's alert after the handshake (TLS 1.3 asks for the client's certificate
            // then) comes bare.
            detail = "\(failure)"
        case let failure as NIOSSLExtraError where failure == .failedToValidateHostname:
            let name = tlsFiles?.serverName ?? "\(address)"
            return "TLS: the server's certificate is not for \(name) (\(failure))"
        default:
            break
        }
        guard let detail, let tls = tlsFiles else { return Self.describe(error) }
        let names = tls.names
        let why: String?
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            let trusted =
                if tls.caPEM != nil {
                    "the CA in \(names.ca)-data"
                } else if let file = tls.caFile {
                    "the CAs in \(names.ca) '\(file)'"
                } else if let directory = tls.caDirectory {
                    "the CAs in \(names.caDirectory) '\(directory)'"
                } else {
                    "the system's CAs"
                }
            why = "the server's certificate is not signed by \(trusted)"
        } else if detail.contains("CERTIFICATE_REQUIRED") {
            why =
                tls.certificateFile == nil && tls.certificatePEM == nil
                ? "the server asks for a client certificate and none is set (\(names.certificate))"
                : "the server asks for a client certificate"
        } else if detail.contains("ALERT_BAD_CERTIFICATE") || detail.contains("ALERT_UNKNOWN_CA")
            || detail.contains("ALERT_CERTIFICATE_UNKNOWN") || detail.contains("ALERT_CERTIFICATE_EXPIRED")
        {
            let ours =
                tls.certificatePEM != nil
                ? "\(names.certificate)-data" : tls.certificateFile.map { "\(names.certificate) '\($0)'" }
            why = "the server refused the client certificate\(ours.map { " in " + $0 } ?? "")"
        } else {
            why = nil
        }
        let reason = Self.describe(error)
        return why.map { "TLS: \($0) (\(reason))" } ?? reason
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as IOError:
            return String(cString: strerror(failure.errnoCode))
        case let failure as NIOConnectionError:
            if let first = failure.connectionErrors.first { return describe(first.error) }
            return "cannot connect"
        case let failure as NIOSSLError:
            if case .handshakeFailed(let reason) = failure { return "TLS handshake failed: \(reason)" }
            return "TLS: \(failure)"
        case let failure as NIOSSLExtraError:
            return "TLS: \(failure)"
        case let failure as BoringSSLError:
            return "TLS: \(failure)"
        default:
            return "\(error)"
        }
    }

    /// The first line of a body, printable characters only, at most 200 of them.
    package static func oneLine(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(400), as: UTF8.self)
        let line = text.prefix { $0 != "\n" && $0 != "\r" }
        return String(
            line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(200).map(
                Character.init))
    }
}
