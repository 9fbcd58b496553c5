/// One element of a JSON list that may not decode: its value, or why not. A list of these
/// always decodes when the list itself is a list, so one bad instance in an answer (a port
/// that is not a number, a field of the wrong type) is skipped instead of hiding the others.
package struct LenientElement<Element: Decodable>: Decodable {
    package var value: Element?
    /// Where and why the element did not decode, in one line.
    package var failure: String?

    /// An element that did not decode, and why.
    package init(failure: String) {
        self.failure = failure
    }

    package init(from decoder: any Decoder) throws {
        do {
            value = try Element(from: decoder)
        } catch {
            failure = HTTPTransport.describe(decoding: error)
        }
    }
}
