/// Which endpoints of a Service's EndpointSlices become instances, and on which port.
public struct KubernetesEndpointSelection: Sendable, Hashable {
    /// The port of each endpoint.
    public enum Port: Sendable, Hashable, CustomStringConvertible {
        /// The Service's only port; a Service with several is an error that names them.
        case only
        /// The port of that name (a slice without it contributes nothing).
        case named(String)
        /// That port number (as the slices give it: the pods' target port); a slice that lists
        /// no ports serves every port, this one too.
        case number(Int)

        public var description: String {
            switch self {
            case .only: "the only port"
            case .named(let name): "port '\(name)'"
            case .number(let number): "port \(number)"
            }
        }
    }

    /// Which endpoints count, by their conditions.
    public enum Inclusion: String, Sendable, Hashable, CaseIterable {
        /// Ready endpoints (a missing `ready` condition means ready), as kube-proxy routes to.
        case ready
        /// Ready, or serving though terminating (graceful shutdown still answers).
        case serving
        /// Every endpoint, terminating ones included.
        case terminating
    }

    public var port: Port
    public var include: Inclusion

    public init(port: Port = .only, include: Inclusion = .ready) {
        self.port = port
        self.include = include
    }
}
