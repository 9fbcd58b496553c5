import AsyncHTTPClient
import Discovery
import Logging
import NIOCore
import NIOHTTP1

extension HTTPTransport {
    /// A 2xx answer read element by element.
    package struct ElementsAnswer<Value: Sendable>: Sendable {
        package var headers: HTTPHeaders
        /// What `transform` made of the elements that decoded, in order.
        package var values: [Value]
        /// How many elements decoded, `transform`'s `nil`s included.
        package var decoded: Int
    }

    /// The longest body read element by element: what 200,000 instances of about 1.3 kB each
    /// take. Its memory is the values made from it, not its bytes.
    package static let elementsBodyLimit = 256 << 20
    /// The longest one element may be.
    package static let elementLimit = 1 << 20

    /// Sends a request whose answer is a JSON array (at `path` in the document: object keys
    /// from the top) and reads it as it arrives, element by element (``JSONElementStream``):
    /// each element is decoded, handed to `transform` and let go of, so memory holds the
    /// values, never the body. Not 2xx, the status is thrown as ``send(_:_:query:body:headers:timeout:what:)``
    /// throws it.
    ///
    /// An element that does not decode is skipped and logged at debug, with how many and the
    /// first reason (`elements` names them: `entries of 'web'`). More than `limit` elements is
    /// ``DiscoveryError/Code/invalidResponse`` with ``InstanceLimitExceeded`` as its cause; a
    /// body over ``elementsBodyLimit`` bytes (announced or counted), an element over
    /// ``elementLimit`` bytes and a document that is not what `path` says are invalid answers
    /// too, each saying which. `bodyLimit` is for tests.
    package func sendForElements<Element: Decodable & SendableMetatype, Value: Sendable>(
        _ path: String, query: [(String, String?)] = [], timeout: Duration? = nil, what: String,
        elements: String, of _: Element.Type, at jsonPath: [String] = [], limit: Int,
        bodyLimit: Int = elementsBodyLimit, transform: @escaping @Sendable (Element) -> Value?
    ) async throws(DiscoveryError) -> ElementsAnswer<Value> {
        let request = self.request(.GET, path, query: query, body: nil, headers: [])
        let deadline = timeout ?? requestTimeout
        logger.trace("\(service): request", metadata: ["sd.method": "GET", "sd.path": "\(path)"])
        let read: ElementsRead<Value>
        do {
            read = try await exchange(request, deadline: deadline) { answer in
                try await Self.readElements(
                    answer, at: jsonPath, limit: limit, bodyLimit: bodyLimit, of: Element.self,
                    transform: transform)
            }
        } catch {
            throw map(transport: error, what: what, deadline: deadline)
        }
        switch read {
        case .status(let status, let body):
            throw map(status: status, body: body, what: what)
        case .failed(.tooMany(let limit)):
            let cause = InstanceLimitExceeded(limit: limit)
            throw DiscoveryError(.invalidResponse, "\(service): \(what): \(cause)", cause: cause)
        case .failed(.tooLong(let bytes)):
            throw DiscoveryError(
                .invalidResponse,
                "\(service): \(what): \(peer) \(address) sent a reply over \(bytes >> 20) MiB")
        case .failed(.malformed(let reason)):
            throw DiscoveryError(.invalidResponse, "\(service): \(what): undecodable answer (\(reason))")
        case .elements(let headers, let output):
            if output.undecodable > 0 {
                logger.debug(
                    "\(service): undecodable \(elements) skipped",
                    metadata: [
                        "sd.skipped": "\(output.undecodable)", "sd.first": "\(output.firstFailure ?? "")",
                    ])
            }
            return ElementsAnswer(headers: headers, values: output.values, decoded: output.decoded)
        }
    }

    private enum ElementsRead<Value: Sendable>: Sendable {
        case elements(HTTPHeaders, DecodedElements<Value>)
        case status(HTTPResponseStatus, ByteBuffer)
        case failed(JSONArrayScanner.Failure)
    }

    private static func readElements<Element: Decodable, Value: Sendable>(
        _ answer: HTTPClientResponse, at path: [String], limit: Int, bodyLimit: Int, of _: Element.Type,
        transform: @escaping @Sendable (Element) -> Value?
    ) async throws -> ElementsRead<Value> {
        guard (200..<300).contains(answer.status.code) else {
            return .status(answer.status, try await collect(answer, upTo: bodyLimit))
        }
        let announced = answer.headers.first(name: "Content-Length").flatMap { Int($0) }
        if let announced, announced > bodyLimit { return .failed(.tooLong(bodyLimit)) }
        var stream = JSONElementStream<Element, Value>(
            at: path, limit: limit, elementLimit: elementLimit, wholeLimit: bodyLimit, transform: transform)
        var total = 0
        do {
            for try await piece in answer.body {
                total += piece.readableBytes
                guard total <= bodyLimit else { return .failed(.tooLong(bodyLimit)) }
                try stream.append(piece)
            }
            return .elements(answer.headers, try stream.finish())
        } catch let failure as JSONArrayScanner.Failure {
            return .failed(failure)
        }
    }
}
