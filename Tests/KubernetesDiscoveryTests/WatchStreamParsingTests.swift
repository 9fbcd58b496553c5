import Discovery
import Foundation
import NIOCore
import Testing

@testable import DiscoveryHTTP
@testable import KubernetesDiscovery

/// Watch lines and the stream splitter, without a server: every event type, malformed, huge and
/// split input.
@Suite("Kubernetes: watch stream parsing")
struct WatchStreamParsingTests {
    static func decode(_ line: String) throws -> EndpointSliceEvent {
        try JSONDecoder().decode(EndpointSliceEvent.self, from: Data(line.utf8))
    }

    @Test("ADDED, MODIFIED, DELETED, BOOKMARK and ERROR lines decode")
    func eventTypes() throws {
        let object = """
            {"kind":"EndpointSlice","metadata":{"name":"web-1","resourceVersion":"7"},"addressType":"IPv4",
             "endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true}}],"ports":[{"name":"http","port":80}]}
            """
        guard case .added(let slice) = try Self.decode(#"{"type":"ADDED","object":\#(object)}"#) else {
            Issue.record("not ADDED")
            return
        }
        #expect(slice.metadata.name == "web-1" && slice.endpoints?.count == 1)
        guard case .modified = try Self.decode(#"{"type":"MODIFIED","object":\#(object)}"#) else {
            Issue.record("not MODIFIED")
            return
        }
        guard case .deleted = try Self.decode(#"{"type":"DELETED","object":\#(object)}"#) else {
            Issue.record("not DELETED")
            return
        }
        let bookmark = try Self.decode(
            #"{"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{"resourceVersion":"12","creationTimestamp":null},"endpoints":null}}"#
        )
        #expect(bookmark == .bookmark(resourceVersion: "12"))
        let error = try Self.decode(
            #"{"type":"ERROR","object":{"kind":"Status","status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410}}"#
        )
        guard case .error(let status) = error else {
            Issue.record("not ERROR")
            return
        }
        #expect(status.isGone)
        #expect(status.summary == "Expired: too old resource version: 5 (9)")
    }

    @Test(
        "malformed lines are errors, never crashes",
        arguments: [
            "", "null", "[]", "{}", #"{"type":"ADDED"}"#, #"{"type":"ADDED","object":{"metadata":{}}}"#,
            #"{"type":"SOMETHING","object":{}}"#, #"{"type":"BOOKMARK","object":{"metadata":{}}}"#,
            #"{"type":"ADDED","object":{"metadata":{"name":"a"},"endpoints":[{"addresses":"10.0.0.1"}]}}"#,
            "{\"type\":\"ADDED\",\"object\":" + String(repeating: "[", count: 10_000),
        ])
    func malformed(_ line: String) {
        #expect(throws: (any Error).self) { try Self.decode(line) }
    }

    @Test("a Status explains refusals in one printable line")
    func statusSummary() throws {
        let body = ByteBuffer(
            string:
                #"{"kind":"Status","message":"endpointslices.discovery.k8s.io is forbidden:\nUser \"x\"\u001b[31m","reason":"Forbidden","code":403}"#
        )
        let status = try #require(KubernetesStatus.decode(body))
        #expect(status.code == 403)
        #expect(!status.summary.contains("\u{1B}") && !status.summary.contains("\n"))
        #expect(KubernetesStatus.decode(ByteBuffer(string: "<html>502</html>")) == nil)
    }

    @Test("lines split across pieces, CRLF and blank lines; a stop ends the reading")
    func lineReader() throws {
        var reader = LineReader(limit: 64, what: "test")
        let lines = LinesSeen()
        for piece in ["{\"a\":", "1}\n\n{\"b\"", ":2}\r\n{\"c\":3}"] {
            #expect(try reader.append(ByteBuffer(string: piece), lines.take) == true)
        }
        #expect(lines.all == [#"{"a":1}"#, #"{"b":2}"#])
        #expect(!reader.isEmpty)  // the unfinished third line
        var stopping = LineReader(limit: 64, what: "test")
        let counted = LinesSeen(stopAfter: 1)
        #expect(try stopping.append(ByteBuffer(string: "1\n2\n3\n"), counted.take) == false)
        #expect(counted.all == ["1"])
    }

    @Test("a line longer than the limit is an error, whether in one piece or many")
    func endlessLine() {
        var reader = LineReader(limit: 16, what: "k8s: watching")
        let lines = LinesSeen()
        let error = #expect(throws: DiscoveryError.self) {
            for _ in 0..<10 { _ = try reader.append(ByteBuffer(string: "0123456789"), lines.take) }
        }
        #expect(error?.code == .invalidResponse)
        #expect(error?.message.hasPrefix("k8s: watching: a line of the stream is over") == true)
        var whole = LineReader(limit: 16, what: "test")
        #expect(throws: DiscoveryError.self) {
            _ = try whole.append(ByteBuffer(string: String(repeating: "x", count: 40) + "\n"), lines.take)
        }
    }
}

/// Collects lines handed out by a ``LineReader``.
private final class LinesSeen: @unchecked Sendable {
    // @unchecked: used from one test's thread only.
    var all: [String] = []
    let stopAfter: Int?

    init(stopAfter: Int? = nil) {
        self.stopAfter = stopAfter
    }

    func take(_ line: ArraySlice<UInt8>) throws(DiscoveryError) -> Bool {
        all.append(String(decoding: line, as: UTF8.self))
        return stopAfter.map { all.count < $0 } ?? true
    }
}

/// A service account's token file, without a server.
@Suite("Kubernetes: token files")
struct TokenFileTests {
    @Test(
        "the token is read once per refresh interval, so a rotated one is picked up; a missing file says so")
    func rotation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdctl-token-\(UUID())")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/token"
        try "first\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = TokenFile(path: path, refresh: .milliseconds(200))
        #expect(try file.token() == "first")
        try "second\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try file.token() == "first", "read again only after the refresh interval")
        try await Task.sleep(for: .milliseconds(300))  // the interval under test, not a race
        #expect(try file.token() == "second")
        let missing = #expect(throws: DiscoveryError.self) {
            try TokenFile(path: directory + "/none").token()
        }
        #expect(missing?.message == "k8s: cannot read the token file \(directory)/none")
        try "\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: DiscoveryError.self) { try TokenFile(path: path).token() }
    }
}
