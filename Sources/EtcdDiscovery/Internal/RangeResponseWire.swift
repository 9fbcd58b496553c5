/// Reads a RangeResponse's protobuf bytes without decoding them.
enum RangeResponseWire {
    /// How many `kvs` (field 2) the message holds at its top level, counting no further than
    /// `cap`. Bytes that are not protobuf end the count where they start: the decoder that
    /// runs next refuses them.
    static func countKeyValues(_ bytes: UnsafeRawBufferPointer, upTo cap: Int) -> Int {
        var index = 0
        var count = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.count, count < cap {
            guard let tag = varint() else { return count }
            switch tag & 7 {
            case 0: guard varint() != nil else { return count }
            case 1: index += 8
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - min(index, bytes.count)) else {
                    return count
                }
                index += Int(length)
                if tag >> 3 == 2 { count += 1 }
            case 5: index += 4
            default: return count
            }
        }
        return count
    }
}
