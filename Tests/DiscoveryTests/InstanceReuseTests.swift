import Testing

@testable import Discovery

/// `Instance.reusing`: a set read again takes the instances that did not change from the set
/// already held.
@Suite("Instance reuse")
struct InstanceReuseTests {
    static func instance(_ address: String, id: String? = nil, version: String = "1") -> Instance {
        Instance(address: address, id: id, metadata: ["version": version])
    }

    @Test("an equal instance of the set is what comes back; anything else is itself")
    func reuse() {
        let set = [
            Self.instance("10.0.0.1:80"), Self.instance("10.0.0.2:80", id: "a"),
            Self.instance("10.0.0.2:80", id: "b", version: "1"),
            Self.instance("10.0.0.2:80", id: "b", version: "2"),
            Self.instance("10.0.0.3:80"),
        ].sorted()
        for member in set { #expect(member.reusing(set) == member) }
        // Same address and id as two members, metadata of the second.
        #expect(Self.instance("10.0.0.2:80", id: "b", version: "2").reusing(set).metadata == ["version": "2"])
        let changed = Self.instance("10.0.0.3:80", version: "9")
        #expect(changed.reusing(set).metadata == ["version": "9"])
        let new = Self.instance("10.0.0.0:80")
        #expect(new.reusing(set) == new)
        #expect(Self.instance("10.0.0.9:80").reusing(set).address == "10.0.0.9:80")
        #expect(new.reusing([]) == new)
    }

    @Test("100,000 lookups in a set of 100,000 find each member")
    func many() {
        let set = (0..<100_000).map { Self.instance("10.\($0 >> 16).\($0 >> 8 & 255).\($0 & 255):80") }
            .sorted()
        var found = 0
        for member in set where member.reusing(set) == member { found += 1 }
        #expect(found == set.count)
    }
}
