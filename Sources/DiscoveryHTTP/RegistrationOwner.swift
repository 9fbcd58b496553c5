/// Which registrar made a registration, for backends whose ids are made from the address
/// (Consul, Eureka): a process restarted on the same address registers the same id, and the
/// one exiting must not remove its successor's registration. Each registrar puts a random
/// ``token`` under ``key`` in the registration's metadata and removes only a registration that
/// still carries it; instancers leave the key out of an instance's metadata.
package enum RegistrationOwner {
    /// A metadata key both Consul (ASCII letters, digits, `-`, `_`) and Eureka accept.
    package static let key = "sdctl-owner"

    /// A new registrar's value: random, 64 bits in hex.
    package static func token() -> String { String(UInt64.random(in: .min ... .max), radix: 16) }
}
