import Discovery
import DiscoveryHTTP

/// The decoding of a health answer, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum ConsulAnswerFuzzing {
    /// Decodes `body` as `GET /v1/health/service/<name>` answers it, as ``ConsulClient`` does;
    /// the number of instances it describes, or -1 when the answer is refused.
    public static func instances(in body: UnsafeRawBufferPointer) -> Int {
        guard
            let entries = try? JSONArrayScanner.decodeElements(
                ConsulServiceEntry.self, in: body, limit: Instance.defaultMaximumPerAnswer)
        else { return -1 }
        return entries.compactMap { $0.value?.instance }.count
    }
}
