import Discovery
import DiscoveryHTTP

/// The decoding of a health answer, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum ConsulAnswerFuzzing {
    /// Decodes `body` as ``ConsulClient`` decodes a health answer, whole and in pieces of
    /// `piece` bytes, and stops the program if the two differ; the number of instances, or -1
    /// when the answer is refused.
    public static func instances(in body: UnsafeRawBufferPointer, piece: Int) -> Int {
        JSONElementStream<ConsulServiceEntry, Instance>.compareWithWhole(body, at: [], piece: piece) {
            $0.instance
        }
    }
}
