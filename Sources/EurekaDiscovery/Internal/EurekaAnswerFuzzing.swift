import Discovery
import DiscoveryHTTP

/// The decoding of an application's instances, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum EurekaAnswerFuzzing {
    /// Decodes `body` as ``EurekaClient`` decodes `GET <base>/apps/<APP>`, whole and in pieces
    /// of `piece` bytes, and stops the program if the two differ; the number of instances, or
    /// -1 when the answer is refused.
    public static func instances(in body: UnsafeRawBufferPointer, piece: Int) -> Int {
        JSONElementStream<EurekaInstanceRecord, Instance>.compareWithWhole(
            body, at: ["application", "instance"], piece: piece
        ) { $0.instance() }
    }
}
