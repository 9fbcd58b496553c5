import Discovery
import Testing

@Suite("KeyedInstances")
struct KeyedInstancesTests {
    @Test("every change keeps the set sorted and equal to sorting the keyed entries afresh")
    func matchesSorting() {
        var generator = SystemRandomNumberGenerator()
        var keyed = KeyedInstances<Int>()
        var reference: [Int: Instance] = [:]
        for _ in 0..<5_000 {
            let key = Int.random(in: 0..<300, using: &generator)
            // Few addresses, so that equal instances under different keys are common.
            let instance: Instance? =
                Bool.random(using: &generator)
                ? Instance(address: "10.0.0.\(Int.random(in: 0..<40, using: &generator)):80") : nil
            keyed.set(instance, for: key)
            reference[key] = instance
            #expect(keyed[key] == instance)
        }
        #expect(keyed.sorted == reference.values.sorted())
        #expect(keyed.count == reference.count)
        #expect(KeyedInstances(reference).sorted == keyed.sorted)
    }
}
