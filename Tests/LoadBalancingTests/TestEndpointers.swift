import Discovery
import Logging

/// An endpointer over instances whose endpoint is their address.
func addressEndpointer(_ instances: [Instance]) -> EndpointCache<String> {
    let cache = EndpointCache<String>(factory: { ($0.address, nil) }, logger: Logger(label: "test"))
    cache.update(.instances(instances.sorted()))
    return cache
}

/// `count` instances `10.0.0.N:80`, N from 1.
func numberedInstances(_ count: Int, from first: Int = 1) -> [Instance] {
    (first..<first + count).map { Instance(address: "10.0.\($0 / 250).\($0 % 250):80") }
}
