import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a document's array held, as ``JSONElementStream`` read it.
package struct DecodedElements<Value> {
    /// What `transform` made of the elements that decoded, in order.
    package var values: [Value] = []
    /// Elements that decoded (`transform` gave `nil` for `decoded - values.count` of them).
    package var decoded = 0
    /// Elements that did not decode, and why the first did not.
    package var undecodable = 0
    package var firstFailure: String?
}

extension DecodedElements: Sendable where Value: Sendable {}

/// Decodes the elements of the array at a path of a JSON document as the document arrives,
/// each on its own, and lets go of its bytes once it is decoded: what is held is the values
/// made from the elements so far and the element still arriving, never the whole document.
///
/// The bytes before the array, and everything of a document whose value at the path is not an
/// array (an object for a list of one, `null`, a missing key, something that is not JSON),
/// are kept until the end and read whole, at most `wholeLimit` bytes of them. One element
/// longer than `elementLimit` bytes, or more than `limit` elements, fail the document as soon
/// as they are seen. An element still arriving is scanned again only once the bytes held have
/// doubled, so a long one costs a few scans of itself, not one per piece.
package struct JSONElementStream<Element: Decodable, Value> {
    package typealias Output = DecodedElements<Value>

    private enum Phase {
        /// Looking for the array's `[`.
        case prefix
        /// In the array; `first` until an element has been read.
        case elements(first: Bool, openObjects: Int)
        /// After the array's `]`: read whole at the end.
        case rest(openObjects: Int)
        /// Not an array at the path: read whole at the end.
        case whole
    }

    private let path: [String]
    private let limit: Int
    private let elementLimit: Int
    private let wholeLimit: Int
    private let transform: (Element) -> Value?
    private let decoder = JSONDecoder()
    private var buffer = ByteBuffer()
    private var phase = Phase.prefix
    /// Bytes of the document already let go of, before `buffer`'s first.
    private var released = 0
    /// How many bytes `buffer` must hold before the next scan: more than at the last scan
    /// that needed more.
    private var scanAt = 0
    private var output = Output()
    /// How many bytes of the document are held (its buffer's capacity), and how many times
    /// elements have been scanned for: what the tests bound.
    package var heldBytes: Int { buffer.capacity }
    package private(set) var scans = 0

    package init(
        at path: [String], limit: Int, elementLimit: Int, wholeLimit: Int,
        transform: @escaping (Element) -> Value?
    ) {
        self.path = path
        self.limit = limit
        self.elementLimit = elementLimit
        self.wholeLimit = wholeLimit
        self.transform = transform
    }

    /// The next bytes of the document.
    package mutating func append(_ piece: ByteBuffer) throws(JSONArrayScanner.Failure) {
        var piece = piece
        buffer.writeBuffer(&piece)
        if buffer.readableBytes >= scanAt { try advance() }
        switch phase {
        case .prefix, .rest, .whole:
            guard buffer.readableBytes <= wholeLimit else { throw .tooLong(wholeLimit) }
        case .elements:
            guard buffer.readableBytes <= elementLimit else {
                let size =
                    elementLimit % (1 << 20) == 0 ? "\(elementLimit >> 20) MiB" : "\(elementLimit) bytes"
                throw .malformed("an element longer than \(size) at byte \(released)")
            }
        }
    }

    /// The document has ended: what it held.
    package mutating func finish() throws(JSONArrayScanner.Failure) -> Output {
        scanAt = 0
        try advance()
        switch phase {
        case .prefix, .whole:
            let found = try buffer.withUnsafeReadableBytes { bytes throws(JSONArrayScanner.Failure) in
                try JSONArrayScanner.elements(in: bytes, at: path, limit: limit)
            }
            switch found {
            case .array(let ranges): for range in ranges { decode(range) }
            case .single(let range): decode(range)
            case .absent: break
            }
        case .elements:
            throw .malformed("the answer ends early")
        case .rest(let openObjects):
            let released = self.released
            try buffer.withUnsafeReadableBytes { bytes throws(JSONArrayScanner.Failure) in
                try JSONArrayScanner.checkRest(bytes, openObjects: openObjects, offset: released)
            }
        }
        return output
    }

    /// Reads what the bytes held allow: the array's start, then element after element.
    private mutating func advance() throws(JSONArrayScanner.Failure) {
        while true {
            switch phase {
            case .prefix:
                let path = self.path
                switch buffer.withUnsafeReadableBytes({ JSONArrayScanner.locateArray(in: $0, at: path) }) {
                case .needMore:
                    scanAt = min(buffer.readableBytes * 2, wholeLimit)
                    return
                case .notAnArray:
                    phase = .whole
                    return
                case .array(let start, let openObjects):
                    release(start)
                    phase = .elements(first: true, openObjects: openObjects)
                }
            case .elements(let first, let openObjects):
                scans += 1
                let released = self.released
                let step = try buffer.withUnsafeReadableBytes { bytes throws(JSONArrayScanner.Failure) in
                    try JSONArrayScanner.nextElement(in: bytes, from: 0, first: first, offset: released)
                }
                switch step {
                case nil:
                    // Whitespace before the next element is let go of at once: only the
                    // element itself counts against elementLimit.
                    let blank = buffer.readableBytesView.prefix { Self.isWhitespace($0) }.count
                    if blank > 0 { release(blank) }
                    // Never past the longest element, so one that ends within it is found.
                    scanAt = min(buffer.readableBytes * 2, elementLimit)
                    buffer.discardReadBytes()
                    return
                case .element(let range):
                    guard output.decoded + output.undecodable < limit else { throw .tooMany(limit) }
                    decode(range)
                    release(range.upperBound)
                    phase = .elements(first: false, openObjects: openObjects)
                case .end(let next):
                    release(next)
                    phase = .rest(openObjects: openObjects)
                    return
                }
            case .rest, .whole:
                return
            }
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Lets go of the first `count` bytes held.
    private mutating func release(_ count: Int) {
        buffer.moveReaderIndex(forwardBy: count)
        released += count
        scanAt = 0
    }

    private mutating func decode(_ range: Range<Int>) {
        let decoder = self.decoder
        let element = buffer.withUnsafeReadableBytes { bytes in
            do {
                return try decoder.decode(
                    LenientElement<Element>.self, from: JSONArrayScanner.borrowing(bytes, range))
            } catch {
                // LenientElement catches the element's own errors; this is bytes the scan could
                // skip that are not JSON (`tru`, `1.2.3`).
                return LenientElement(failure: HTTPTransport.describe(decoding: error))
            }
        }
        if let value = element.value {
            output.decoded += 1
            if let made = transform(value) { output.values.append(made) }
        } else {
            output.undecodable += 1
            if output.firstFailure == nil { output.firstFailure = element.failure }
        }
    }
}
