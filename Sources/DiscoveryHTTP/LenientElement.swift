/// One element of a JSON list that may not decode: its value, or why not. A list of these
/// always decodes when the list itself is a list, so one bad instance in an answer (a port
/// that is not a number, a field of the wrong type) is skipped instead of hiding the others.
package struct LenientElement<Element: Decodable>: Decodable {
    package var value: Element?
    /// Where and why the element did not decode, in one line.
    package var failure: String?

    package init(from decoder: any Decoder) throws {
        do {
            value = try Element(from: decoder)
        } catch {
            failure = HTTPTransport.describe(decoding: error)
        }
    }
}

extension Array where Element: Decodable {
    /// The elements that decoded, and how many did not with the first reason.
    package static func decoded(_ elements: [LenientElement<Element>]) -> (
        values: [Element], skipped: Int, firstFailure: String?
    ) {
        let values = elements.compactMap(\.value)
        return (values, elements.count - values.count, elements.lazy.compactMap(\.failure).first)
    }
}
