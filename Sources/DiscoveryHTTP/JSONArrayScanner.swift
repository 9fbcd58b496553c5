#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finds the elements of one JSON array in a document without decoding them, so that each can
/// be decoded on its own and too many can be refused before any is.
///
/// Decoding a whole answer at once holds the decoder's map of every value beside the bytes
/// (about twice their size again) and every decoded element; element by element, only the bytes
/// and the results stay. The scan checks the document's structure outside the elements as a
/// JSON parser would (strings, nesting, separators, nothing after the end) and the elements'
/// own structure as far as skipping them needs; each element's decoder checks the rest. It
/// never recurses: nesting deeper than ``maximumDepth`` is a failure, not a deep stack.
package struct JSONArrayScanner {
    /// Where the array was, or why it was not.
    package enum Found: Equatable, Sendable {
        /// The elements' byte ranges, in order.
        case array([Range<Int>])
        /// An object where the array was expected: Eureka's JSON of a list of one.
        case single(Range<Int>)
        /// A key on the path is missing, or the value is `null`.
        case absent
    }

    /// Why a document was refused, in words for a message (`not JSON at byte 12`).
    package enum Failure: Error, Equatable, Sendable {
        case malformed(String)
        /// The array has more than this many elements.
        case tooMany(Int)
        /// The document (or, arriving in pieces, one element of it) is longer than this many
        /// bytes.
        case tooLong(Int)
    }

    /// How deep objects and arrays may nest, as Foundation's JSONDecoder allows.
    package static let maximumDepth = 512

    /// Why a scan stopped: a failure, or (on bytes that are not all of the document yet) the
    /// end of what there is where more is needed.
    enum Stop: Error {
        case failure(Failure)
        case needMore
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    /// Whether `bytes` is the whole document: running out of them is then a failure, not a
    /// reason to wait for more.
    private let whole: Bool
    /// Where `bytes` starts in the document, for the byte offsets in messages.
    private let offset: Int

    private init(_ bytes: UnsafeRawBufferPointer, whole: Bool = true, offset: Int = 0) {
        self.bytes = bytes
        self.whole = whole
        self.offset = offset
    }

    /// The elements of the array at `path` (object keys from the top; empty for an array at the
    /// top), at most `limit` of them.
    package static func elements(
        in bytes: UnsafeRawBufferPointer, at path: [String], limit: Int
    ) throws(Failure) -> Found {
        var scanner = JSONArrayScanner(bytes)
        do {
            return try scanner.scan(path, limit: limit)
        } catch {
            switch error {
            case .failure(let failure): throw failure
            case .needMore: throw .malformed("the answer ends early")  // not reached: whole
            }
        }
    }

    // MARK: Steps for a document that arrives in pieces (JSONElementStream)

    /// Where the array at `path` starts in the first bytes of a document.
    enum Location: Equatable {
        /// Its first element (or its end) starts at `elements`, inside `openObjects` objects.
        case array(elements: Int, openObjects: Int)
        /// More bytes are needed to tell.
        case needMore
        /// Not an array there (an object, `null`, a missing key, or not JSON): only the whole
        /// document can say what it is.
        case notAnArray
    }

    static func locateArray(in bytes: UnsafeRawBufferPointer, at path: [String]) -> Location {
        var scanner = JSONArrayScanner(bytes, whole: false)
        var openObjects = 0
        do throws(Stop) {
            for key in path {
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: "{") else {
                    return scanner.peek() == nil ? .needMore : .notAnArray
                }
                scanner.index += 1
                openObjects += 1
                guard try scanner.member(named: key) else { return .notAnArray }
            }
            scanner.skipWhitespace()
            switch scanner.peek() {
            case UInt8(ascii: "["): return .array(elements: scanner.index + 1, openObjects: openObjects)
            case nil: return .needMore
            default: return .notAnArray
            }
        } catch {
            if case .needMore = error { return .needMore }
            return .notAnArray
        }
    }

    /// What follows in an array whose earlier elements ended at `start`.
    enum ElementStep: Equatable {
        case element(Range<Int>)
        /// The array's closing bracket ends before `end`.
        case end(Int)
    }

    /// The next element of an array, from `start`: just after its `[` (`first`) or after the
    /// element before. `nil` when the bytes end before it does; `offset` is where `bytes`
    /// starts in the document.
    static func nextElement(
        in bytes: UnsafeRawBufferPointer, from start: Int, first: Bool, offset: Int
    ) throws(Failure) -> ElementStep? {
        var scanner = JSONArrayScanner(bytes, whole: false, offset: offset)
        scanner.index = start
        do throws(Stop) {
            scanner.skipWhitespace()
            switch scanner.peek() {
            case UInt8(ascii: "]"):
                // Only here, right after `[` or an element: after a comma, `]` is not an
                // element, and skipping one below says so (`[1,]` is not JSON).
                return .end(scanner.index + 1)
            case UInt8(ascii: ",") where !first:
                scanner.index += 1
                scanner.skipWhitespace()
            case nil: return nil
            case _ where first: break
            default: throw scanner.unexpected("expected , or ]")
            }
            let elementStart = scanner.index
            try scanner.skipValue()
            return .element(elementStart..<scanner.index)
        } catch {
            switch error {
            case .failure(let failure): throw failure
            case .needMore: return nil
            }
        }
    }

    /// Checks what follows the array in a whole rest of the document: the other members of the
    /// `openObjects` objects the array was in, then nothing but whitespace.
    static func checkRest(
        _ bytes: UnsafeRawBufferPointer, openObjects: Int, offset: Int
    ) throws(Failure) {
        var scanner = JSONArrayScanner(bytes, offset: offset)
        do throws(Stop) {
            for _ in 0..<openObjects { try scanner.skipRemainingMembers() }
            scanner.skipWhitespace()
            guard scanner.index == bytes.count else { throw scanner.malformed("more after the end") }
        } catch {
            switch error {
            case .failure(let failure): throw failure
            case .needMore: throw .malformed("the answer ends early")
            }
        }
    }

    private mutating func scan(_ path: [String], limit: Int) throws(Stop) -> Found {
        var found = Found.absent
        var openObjects = 0
        var located = true
        for (level, key) in path.enumerated() {
            skipWhitespace()
            if isNull() { break }
            guard peek() == UInt8(ascii: "{") else { throw wrongType(path, upTo: level) }
            index += 1
            openObjects += 1
            guard try member(named: key) else {
                openObjects -= 1  // closed by looking for the key
                located = false
                break
            }
        }
        if located {
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: "["): found = .array(try arrayElements(limit: limit))
            case UInt8(ascii: "{") where !path.isEmpty:
                let start = index
                try skipValue()
                found = .single(start..<index)
            case _ where isNull(): try skipValue()
            default: throw wrongType(path, upTo: path.count)
            }
        }
        // The rest of each object the path went into, then nothing but whitespace.
        for _ in 0..<openObjects { try skipRemainingMembers() }
        skipWhitespace()
        guard index == bytes.count else { throw malformed("more after the end") }
        return found
    }

    // MARK: Objects and arrays

    /// Moves past members until the one named `key` and its `:`; `false` (past the closing
    /// brace, which it consumes) when the object has no such member.
    private mutating func member(named key: String) throws(Stop) -> Bool {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return false
        }
        while true {
            let name = try string()
            try expect(":")
            if Self.equal(bytes, name, key) { return true }
            try skipValue()
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return false
            default: throw unexpected("expected , or }")
            }
            skipWhitespace()
        }
    }

    /// After a member's value: the object's other members and its closing brace.
    private mutating func skipRemainingMembers() throws(Stop) {
        skipWhitespace()
        while peek() == UInt8(ascii: ",") {
            index += 1
            _ = try string()
            try expect(":")
            try skipValue()
            skipWhitespace()
        }
        try expect("}")
    }

    private mutating func arrayElements(limit: Int) throws(Stop) -> [Range<Int>] {
        index += 1  // [
        var elements: [Range<Int>] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            let start = index
            try skipValue()
            guard elements.count < limit else { throw .failure(.tooMany(limit)) }
            elements.append(start..<index)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return elements
            default: throw unexpected("expected , or ]")
            }
        }
    }

    /// Moves past one value of any kind, however nested, without recursion.
    private mutating func skipValue() throws(Stop) {
        // The closers still expected, innermost last.
        var closers: [UInt8] = []
        while true {
            skipWhitespace()
            switch peek() {
            case let opener? where opener == UInt8(ascii: "{") || opener == UInt8(ascii: "["):
                index += 1
                guard closers.count < Self.maximumDepth else {
                    throw malformed("nested deeper than \(Self.maximumDepth) levels")
                }
                let closer = opener == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                skipWhitespace()
                if peek() == closer {
                    index += 1
                } else {
                    closers.append(closer)
                    if closer == UInt8(ascii: "}") {
                        _ = try string()
                        try expect(":")
                    }
                    continue
                }
            case UInt8(ascii: "\""): _ = try string()
            default: try scalar()
            }
            // After a value: the next member or element, or the end of its container.
            while let closer = closers.last {
                skipWhitespace()
                guard let byte = peek() else { throw ranOut("the answer ends early") }
                if byte == closer {
                    index += 1
                    closers.removeLast()
                } else if byte == UInt8(ascii: ",") {
                    index += 1
                    if closer == UInt8(ascii: "}") {
                        skipWhitespace()
                        _ = try string()
                        try expect(":")
                    }
                    break
                } else {
                    throw unexpected("expected , or \(Character(Unicode.Scalar(closer)))")
                }
            }
            if closers.isEmpty { return }
        }
    }

    // MARK: Tokens

    /// A string's contents (between its quotes), with escapes left as they are.
    private mutating func string() throws(Stop) -> Range<Int> {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw unexpected("expected a string") }
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            if byte < 0x20 { throw malformed("a control character in a string at byte \(offset + index)") }
            index += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        throw ranOut("the answer ends in a string")
    }

    /// A number, `true`, `false` or `null`: a run of the bytes they are made of. The element's
    /// decoder (or the decoder of the value it is) checks the run itself.
    private mutating func scalar() throws(Stop) {
        let start = index
        while let byte = peek(), Self.isScalarByte(byte) { index += 1 }
        // A run that reaches the end of partial bytes may go on in the next ones.
        if index == bytes.count, !whole { throw .needMore }
        guard index > start else { throw unexpected("not JSON") }
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(Stop) {
        skipWhitespace()
        guard peek() == UInt8(ascii: character) else { throw unexpected("expected \(character)") }
        index += 1
    }

    private func isNull() -> Bool {
        index + 4 <= bytes.count && bytes[index] == UInt8(ascii: "n") && bytes[index + 1] == UInt8(ascii: "u")
            && bytes[index + 2] == UInt8(ascii: "l") && bytes[index + 3] == UInt8(ascii: "l")
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek(),
            byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        {
            index += 1
        }
    }

    private func malformed(_ reason: String) -> Stop { .failure(.malformed(reason)) }

    /// Something else where `what` was expected; at the end of the bytes, ``ranOut(_:)``.
    private func unexpected(_ what: String) -> Stop {
        index < bytes.count ? malformed("\(what) at byte \(offset + index)") : ranOut("the answer ends early")
    }

    /// The end of the bytes where more was needed: a failure for a whole document, a wait
    /// for more otherwise.
    private func ranOut(_ reason: String) -> Stop { whole ? malformed(reason) : .needMore }

    private func wrongType(_ path: [String], upTo level: Int) -> Stop {
        let at = path.prefix(level).map { ".\($0)" }.joined()
        return malformed("wrong type \(at.isEmpty ? "at the top" : "at \(at)")")
    }

    private static func isScalarByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."):
            true
        default: false
        }
    }

    /// Whether a key as written (escapes undone, the way a decoder reads it) is `key`.
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ key: String) -> Bool {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard raw.contains(UInt8(ascii: "\\")) else { return raw.elementsEqual(key.utf8) }
        // Rare (a key with escapes): the decoder undoes them as it would for the whole answer.
        let quoted = [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]
        return (try? JSONDecoder().decode(String.self, from: Data(quoted))) == key
    }
}
