import DiscoveryHTTP
import Foundation
import Testing

/// The scan that finds an answer's elements before any is decoded (Consul's health entries,
/// Eureka's instances): what it accepts, what it refuses, and that hostile documents end in a
/// failure rather than a crash, a deep stack or a silent partial answer.
@Suite("JSON array scanner")
struct JSONArrayScannerTests {
    func scan(_ text: String, at path: [String] = [], limit: Int = 1_000) throws(JSONArrayScanner.Failure)
        -> JSONArrayScanner.Found
    {
        try scan(Array(text.utf8), at: path, limit: limit)
    }

    func scan(_ bytes: [UInt8], at path: [String] = [], limit: Int = 1_000) throws(JSONArrayScanner.Failure)
        -> JSONArrayScanner.Found
    {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONArrayScanner.Failure) in
                try JSONArrayScanner.elements(in: raw, at: path, limit: limit)
            }
        }
        return try result.get()
    }

    /// The elements' text, for comparing.
    func texts(_ text: String, at path: [String] = []) throws -> [String] {
        let bytes = Array(text.utf8)
        switch try scan(bytes, at: path) {
        case .array(let ranges): return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
        case .single(let range): return ["single " + String(decoding: bytes[range], as: UTF8.self)]
        case .absent: return ["absent"]
        }
    }

    @Test("elements of a top-level array, whatever they hold, with whitespace anywhere")
    func topLevel() throws {
        let text = #" [ {"a": [1, {"b": "]}\"["}]} , "x\\" ,-1.5e3,true, null ,[ ] , { } ]"#
        #expect(
            try texts(text) == [
                #"{"a": [1, {"b": "]}\"["}]}"#, #""x\\""#, "-1.5e3", "true", "null", "[ ]", "{ }",
            ])
        #expect(try texts("[]") == [])
        #expect(try texts(" null ") == ["absent"])
    }

    @Test("the array at a path of keys, an object there as a list of one, and what is absent")
    func path() throws {
        let path = ["application", "instance"]
        #expect(
            try texts(
                #"{"application": {"name": "WEB", "instance": [{"id": 1}, {"id": 2}]}, "x": [[]]}"#, at: path)
                == [#"{"id": 1}"#, #"{"id": 2}"#])
        #expect(
            try texts(#"{"application": {"instance": {"id": 1}, "name": "WEB"}}"#, at: path)
                == [#"single {"id": 1}"#])
        #expect(try texts(#"{"application": {"name": "WEB"}}"#, at: path) == ["absent"])
        #expect(try texts(#"{"application": null}"#, at: path) == ["absent"])
        #expect(try texts(#"{"other": {"instance": [1]}}"#, at: path) == ["absent"])
        #expect(try texts(#"{"application": {"instance": null}}"#, at: path) == ["absent"])
        // Keys are compared as a decoder reads them, escapes undone.
        #expect(try texts(#"{"appl\u0069cation": {"instance": [7]}}"#, at: path) == ["7"])
        // A key that only looks like the one wanted inside a string value is not it.
        #expect(
            try texts(#"{"note": "\"application\": {", "application": {"instance": [8]}}"#, at: path) == ["8"]
        )
    }

    @Test("the wrong kind of value where the path goes is a failure that says where")
    func wrongType() {
        let path = ["application", "instance"]
        #expect(throws: JSONArrayScanner.Failure.malformed("wrong type at the top")) {
            try scan("[1]", at: path)
        }
        #expect(throws: JSONArrayScanner.Failure.malformed("wrong type at .application")) {
            try scan(#"{"application": [1]}"#, at: path)
        }
        #expect(throws: JSONArrayScanner.Failure.malformed("wrong type at .application.instance")) {
            try scan(#"{"application": {"instance": "x"}}"#, at: path)
        }
        #expect(throws: JSONArrayScanner.Failure.malformed("wrong type at the top")) { try scan("{}") }
    }

    @Test("more elements than the limit are refused as soon as the one past it is found")
    func limit() throws {
        #expect(try scan("[1,2,3]", limit: 3) == .array([1..<2, 3..<4, 5..<6]))
        #expect(throws: JSONArrayScanner.Failure.tooMany(2)) { try scan("[1,2,3]", limit: 2) }
        // The rest need not even be JSON: the scan stops there.
        #expect(throws: JSONArrayScanner.Failure.tooMany(1)) { try scan("[1,2,garbage!!", limit: 1) }
    }

    @Test(
        "malformed documents are failures",
        arguments: [
            "", " ", "[", "[1,", "[1,]", "[,1]", "[1 2]", "[1]]", "[1] x", "[{]", "[{\"a\"}]", "[{\"a\" 1}]",
            "[{\"a\":1,}]", "[{1:2}]", "[\"abc]", "[\"a\u{1}b\"]", "[\"\\\"]", "[}", "[{]}", "[[]", "[!]",
            "{\"application\"}",
        ])
    func malformed(_ text: String) {
        #expect(throws: JSONArrayScanner.Failure.self) { try scan(text) }
        #expect(throws: JSONArrayScanner.Failure.self) {
            try scan(#"{"application": {"instance": "# + text + "}}", at: ["application", "instance"])
        }
    }

    @Test("every proper prefix of a valid answer is a failure, never a shorter answer")
    func truncated() throws {
        let text = #"{"application": {"name": "W\"EB", "instance": [{"a": [1, 2.5, "]"]}, {"b": {}}, null]}}"#
        let bytes = Array(text.utf8)
        let path = ["application", "instance"]
        #expect(try scan(bytes, at: path) != .absent)
        for end in 0..<bytes.count {
            #expect(throws: JSONArrayScanner.Failure.self, "cut at \(end)") {
                try scan(Array(bytes[..<end]), at: path)
            }
        }
    }

    @Test("nesting deeper than the limit fails without recursing; up to it an element is fine")
    func nesting() throws {
        let deep = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONArrayScanner.Failure.malformed("nested deeper than 512 levels")) {
            try scan(deep)
        }
        let depth = JSONArrayScanner.maximumDepth
        let element = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try texts("[" + element + "]") == [element])
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(try texts("[" + objects + "]") == [objects])
    }

    @Test("a million elements are found in one pass")
    func many() throws {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for index in 0..<1_000_000 {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += Array(#"{"i":1}"#.utf8)
        }
        bytes.append(UInt8(ascii: "]"))
        guard case .array(let ranges) = try scan(bytes, limit: 1_000_000) else {
            Issue.record("not an array")
            return
        }
        #expect(ranges.count == 1_000_000)
        #expect(ranges.last == (bytes.count - 8)..<(bytes.count - 1))
    }

    @Test("what it finds is what JSONDecoder finds, element by element")
    func agreesWithJSONDecoder() throws {
        let text = #"[{"a":"\u00e9\ud83d\ude00"}, [1,[2,[3]]], "s\"t", 0, -0.5E-2, false, {"k":{"l":null}}]"#
        let whole = try JSONDecoder().decode([JSONValue].self, from: Data(text.utf8))
        let bytes = Array(text.utf8)
        guard case .array(let ranges) = try scan(bytes) else {
            Issue.record("not an array")
            return
        }
        let each = try ranges.map { try JSONDecoder().decode(JSONValue.self, from: Data(bytes[$0])) }
        #expect(each == whole)
    }
}

/// Any JSON value, to compare decodings.
private indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
