import NIOCore

extension JSONElementStream {
    /// For the fuzzers (Tests/Fuzz): `document` read twice, whole (``JSONArrayScanner``) and
    /// as it would arrive in pieces of `piece` bytes; both must end alike, and this stops the
    /// program when they do not. How many values, or -1 when the document is refused.
    package static func compareWithWhole(
        _ document: UnsafeRawBufferPointer, at path: [String], piece: Int,
        transform: @escaping (Element) -> Value?
    ) -> Int {
        let limit = 1_000_000
        let whole: Int? = {
            guard
                let found = try? JSONArrayScanner.decodeElements(
                    Element.self, in: document, at: path, limit: limit)
            else { return nil }
            return found.compactMap { $0.value.flatMap(transform) }.count
        }()
        var stream = JSONElementStream(
            at: path, limit: limit, elementLimit: 1 << 20, wholeLimit: 64 << 20, transform: transform)
        let streamed: Int? = {
            var start = 0
            while start < document.count {
                let end = min(document.count, start + max(1, piece))
                guard (try? stream.append(ByteBuffer(bytes: document[start..<end]))) != nil else {
                    return nil
                }
                start = end
            }
            return (try? stream.finish())?.values.count
        }()
        precondition(
            whole == streamed,
            "whole: \(String(describing: whole)), in pieces: \(String(describing: streamed))")
        return whole ?? -1
    }
}
