/// A JSON string, number or boolean read as text, for metadata taken from a payload of any shape
/// (Curator's, etcd's gRPC naming): decoding anything else (an object, an array, null) throws,
/// so that a caller decoding with `try?` leaves it out.
package struct JSONScalar: Decodable, Sendable {
    package var text: String

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(String.self) {
            text = value
        } else if let value = try? container.decode(Int64.self) {
            text = "\(value)"
        } else if let value = try? container.decode(Double.self) {
            text = "\(value)"
        } else {
            text = "\(try container.decode(Bool.self))"
        }
    }

    /// Any key of a JSON object.
    package struct Key: CodingKey, Sendable {
        package var stringValue: String
        package var intValue: Int? { nil }
        package init(_ string: String) { stringValue = string }
        package init?(stringValue: String) { self.stringValue = stringValue }
        package init?(intValue: Int) { nil }
    }

    /// The string, number and boolean members of `object`, as text.
    package static func members(of object: KeyedDecodingContainer<Key>, skipping skipped: Set<String> = [])
        -> [String: String]
    {
        var members: [String: String] = [:]
        for key in object.allKeys where !skipped.contains(key.stringValue) {
            if let value = try? object.decode(JSONScalar.self, forKey: key) {
                members[key.stringValue] = value.text
            }
        }
        return members
    }
}
