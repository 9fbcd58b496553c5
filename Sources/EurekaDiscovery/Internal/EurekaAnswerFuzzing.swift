import Discovery
import DiscoveryHTTP

/// The decoding of an application's instances, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum EurekaAnswerFuzzing {
    /// Decodes `body` as `GET <base>/apps/<APP>` answers it, as ``EurekaClient`` does; the
    /// number of instances it describes, or -1 when the answer is refused.
    public static func instances(in body: UnsafeRawBufferPointer) -> Int {
        guard
            let records = try? JSONArrayScanner.decodeElements(
                EurekaInstanceRecord.self, in: body, at: ["application", "instance"],
                limit: Instance.defaultMaximumPerAnswer)
        else { return -1 }
        return records.compactMap { $0.value?.instance() }.count
    }
}
