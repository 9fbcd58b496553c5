import Discovery

extension DNSMessage {
    /// An RFC 2136 UPDATE of `zone` that adds (`ttl` given) or deletes (`ttl` nil) one SRV
    /// record of `name`, without prerequisites or TSIG.
    public static func update(
        id: UInt16, zone: String, name: String, ttl: UInt32?, priority: UInt16, weight: UInt16, port: UInt16,
        target: String
    ) throws(DiscoveryError) -> [UInt8] {
        // Header: id, opcode UPDATE (5), one zone, no prerequisites, one update, no additional.
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0]
        try DNSName.encode(zone, into: &bytes)
        bytes += [0, 6, 0, 1]  // SOA, IN
        try DNSName.encode(name, into: &bytes)
        // Adding: class IN and the TTL; deleting one record: class NONE (254) and TTL 0.
        let recordClass: UInt16 = ttl == nil ? 254 : 1
        let time = ttl ?? 0
        bytes += [0, 33, UInt8(recordClass >> 8), UInt8(recordClass & 0xFF)]
        bytes += [UInt8(time >> 24), UInt8(time >> 16 & 0xFF), UInt8(time >> 8 & 0xFF), UInt8(time & 0xFF)]
        var data: [UInt8] = [
            UInt8(priority >> 8), UInt8(priority & 0xFF), UInt8(weight >> 8), UInt8(weight & 0xFF),
            UInt8(port >> 8), UInt8(port & 0xFF),
        ]
        try DNSName.encode(target, into: &data)
        bytes += [UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
        return bytes
    }
}
