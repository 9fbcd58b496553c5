#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension JSONArrayScanner {
    /// The elements of the array at `path` in `bytes` (see ``elements(in:at:limit:)``), each
    /// decoded on its own and in place: what is held at once is the bytes and the elements
    /// decoded so far, never a decoder's map of the whole document. A `null` or missing array
    /// has no elements; an object where the array was expected is a list of one.
    package static func decodeElements<Element: Decodable>(
        _: Element.Type, in bytes: UnsafeRawBufferPointer, at path: [String] = [], limit: Int
    ) throws(Failure) -> [LenientElement<Element>] {
        let ranges: [Range<Int>]
        switch try elements(in: bytes, at: path, limit: limit) {
        case .array(let elements): ranges = elements
        case .single(let element): ranges = [element]
        case .absent: ranges = []
        }
        let decoder = JSONDecoder()
        var decoded: [LenientElement<Element>] = []
        decoded.reserveCapacity(ranges.count)
        for range in ranges {
            do {
                decoded.append(
                    try decoder.decode(LenientElement<Element>.self, from: borrowing(bytes, range)))
            } catch {
                // LenientElement catches the element's own errors; this is bytes the scan could
                // skip that are not JSON (`tru`, `1.2.3`).
                decoded.append(LenientElement(failure: HTTPTransport.describe(decoding: error)))
            }
        }
        return decoded
    }

    /// `range` of `bytes` as Data without copying it; valid only while `bytes` is.
    package static func borrowing(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Data {
        guard let base = bytes.baseAddress, !range.isEmpty else { return Data() }
        return Data(
            bytesNoCopy: UnsafeMutableRawPointer(mutating: base + range.lowerBound), count: range.count,
            deallocator: .none)
    }
}
