/// An instance's status as Eureka reports it; strings Eureka does not know read as
/// ``unknown``, as the server reads them.
public enum EurekaStatus: String, Sendable, Hashable, CaseIterable {
    case up = "UP"
    case down = "DOWN"
    case starting = "STARTING"
    case outOfService = "OUT_OF_SERVICE"
    case unknown = "UNKNOWN"

    public init(reading text: String) {
        self = EurekaStatus(rawValue: text) ?? .unknown
    }
}
