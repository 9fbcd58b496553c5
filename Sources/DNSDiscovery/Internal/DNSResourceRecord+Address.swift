#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension DNSResourceRecord.RecordData {
    /// The address of an A or AAAA record as text (`192.0.2.1`, `2001:db8::1`); `nil` otherwise.
    var addressText: String? {
        switch self {
        case .a(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .aaaa(let high, let low):
            var bytes = (high.bigEndian, low.bigEndian)
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
                _ = withUnsafeBytes(of: &bytes) { raw in
                    inet_ntop(AF_INET6, raw.baseAddress, text.baseAddress, socklen_t(INET6_ADDRSTRLEN))
                }
                return String(cString: text.baseAddress!)
            }
        default:
            return nil
        }
    }
}
