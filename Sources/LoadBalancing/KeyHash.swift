/// The 64-bit hash the hashing balancer uses for keys and endpoint addresses.
///
/// Stable across processes and runs (Swift's `Hasher` is seeded per process), so that every
/// client sends a key to the same endpoint: FNV-1a over the UTF-8 bytes, then MurmurHash3's
/// 64-bit finaliser so that similar keys spread over the whole range.
public enum KeyHash {
    @inlinable
    public static func hash(_ key: String, seed: UInt64 = 0) -> UInt64 {
        var key = key
        return key.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        return finalize(value)
    }

    /// MurmurHash3's fmix64.
    @inlinable
    public static func finalize(_ value: UInt64) -> UInt64 {
        var value = value
        value ^= value >> 33
        value = value &* 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value = value &* 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }
}
