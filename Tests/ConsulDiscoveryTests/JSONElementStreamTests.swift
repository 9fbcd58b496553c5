import DiscoveryHTTP
import Foundation
import NIOCore
import Testing

/// Answers read as they arrive, element by element (Consul's health entries, Eureka's
/// instances): the same as read whole, whatever the pieces, while holding only what is still
/// arriving.
@Suite("JSON element stream")
struct JSONElementStreamTests {
    struct Item: Decodable, Equatable {
        var id: Int
    }

    typealias Stream = JSONElementStream<Item, Int>

    static func stream(at path: [String] = [], limit: Int = 1_000, elementLimit: Int = 1 << 20) -> Stream {
        Stream(at: path, limit: limit, elementLimit: elementLimit, wholeLimit: 1 << 20) { $0.id }
    }

    /// `text` fed in pieces of `piece` bytes: the ids, or the failure.
    static func read(_ text: String, at path: [String] = [], piece: Int) -> Result<
        [Int], JSONArrayScanner.Failure
    > {
        var stream = stream(at: path)
        let bytes = Array(text.utf8)
        do throws(JSONArrayScanner.Failure) {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + piece)
                try stream.append(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            }
            return .success(try stream.finish().values)
        } catch {
            return .failure(error)
        }
    }

    /// The same document read whole.
    static func readWhole(_ text: String, at path: [String] = []) -> Result<[Int], JSONArrayScanner.Failure> {
        Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(JSONArrayScanner.Failure) in
                try JSONArrayScanner.decodeElements(Item.self, in: bytes, at: path, limit: 1_000)
                    .compactMap { $0.value?.id }
            }
        }
    }

    static let documents: [(String, [String])] = [
        (#"[{"id": 1}, {"id": 2} , {"id":3}]"#, []),
        (#" [ ] "#, []),
        ("null", []),
        (#"[{"id": 1}, {"id": "x"}, {"id": 3}, 12, "s\"]", [[]], {}]"#, []),
        (#"[{"id": 1},]"#, []),
        (#"[{"id": 1} {"id": 2}]"#, []),
        (#"[{"id": 1}] x"#, []),
        (#"[{"id": 1}"#, []),
        (#"[{"id": 12"#, []),
        (#"[123"#, []),
        (#"{"id": 1}"#, []),
        (
            #"{"application": {"name": "W", "instance": [{"id": 4}, {"id": 5}], "x": [1]}}"#,
            ["application", "instance"]
        ),
        (#"{"application": {"instance": {"id": 6}}}"#, ["application", "instance"]),
        (#"{"application": {"name": "W"}}"#, ["application", "instance"]),
        (#"{"application": {"instance": [{"id": 7}]}"#, ["application", "instance"]),
        (#"{"application": {"instance": [{"id": 7}]}}}"#, ["application", "instance"]),
        (#"{"application": {"instance": [{"id": 8}], "name": "W"}} "#, ["application", "instance"]),
        (#"[{"id": 1, "deep": [[[[{"a": "\u0041]"}]]]]}, {"id": 2}]"#, []),
    ]

    @Test("every document, in pieces of every size, reads as it reads whole", arguments: 0..<documents.count)
    func sameAsWhole(_ number: Int) {
        let (text, path) = Self.documents[number]
        let whole = Self.readWhole(text, at: path)
        for piece in 1...(text.utf8.count + 1) {
            let pieces = Self.read(text, at: path, piece: piece)
            switch (whole, pieces) {
            case (.success(let a), .success(let b)): #expect(a == b, "pieces of \(piece)")
            case (.failure, .failure): break
            default: Issue.record("whole: \(whole), in pieces of \(piece): \(pieces)")
            }
        }
    }

    @Test("a long answer in 16 kB pieces holds a few pieces at most, never the answer")
    func holdsLittle() throws {
        var text = "["
        for id in 0..<100_000 {
            if id > 0 { text += ", " }
            text += #"{"id": \#(id), "padding": "\#(String(repeating: "x", count: 200))"}"#
        }
        text += "]"
        let bytes = Array(text.utf8)
        var stream = Self.stream(limit: 200_000)
        var held = 0
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 16_384)
            try stream.append(ByteBuffer(bytes: bytes[start..<end]))
            held = max(held, stream.heldBytes)
            start = end
        }
        let values = try stream.finish().values
        #expect(values.count == 100_000)
        #expect(values.last == 99_999)
        #expect(bytes.count > 20_000_000)
        #expect(held <= 4 * 16_384, "held \(held) bytes")
    }

    @Test("more elements than the limit fail at the one past it, before the rest arrives")
    func limit() throws {
        var stream = Self.stream(limit: 2)
        try stream.append(ByteBuffer(string: #"[{"id": 1}, {"id": 2}, "#))
        #expect(throws: JSONArrayScanner.Failure.tooMany(2)) {
            try stream.append(ByteBuffer(string: #"{"id": 3}, not even JSON"#))
        }
    }

    @Test("an element longer than elementLimit fails as it grows; whitespace does not count")
    func elementLimit() throws {
        var stream = Self.stream(elementLimit: 1_000)
        try stream.append(ByteBuffer(string: "[" + String(repeating: " ", count: 5_000)))
        try stream.append(ByteBuffer(string: #"{"id": 1, "x": ""# + String(repeating: "a", count: 900)))
        #expect(throws: JSONArrayScanner.Failure.malformed("an element longer than 1000 bytes at byte 5001"))
        {
            try stream.append(ByteBuffer(string: String(repeating: "a", count: 200)))
        }
    }

    @Test("an element that drips in byte by byte is scanned a few times, not once a byte")
    func drip() throws {
        var stream = Self.stream()
        let element = #"{"id": 9, "x": ""# + String(repeating: "a", count: 100_000) + #""}"#
        for byte in Array(("[" + element + "]").utf8) { try stream.append(ByteBuffer(bytes: [byte])) }
        #expect(try stream.finish().values == [9])
        #expect(stream.scans < 40, "\(stream.scans) scans")
    }
}
