/// The body of `PUT /v1/agent/service/register`, in the agent's field names.
struct RegistrationBody: Encodable {
    struct Weights: Encodable {
        var passing: Int
        var warning: Int

        enum CodingKeys: String, CodingKey {
            case passing = "Passing"
            case warning = "Warning"
        }
    }

    struct Check: Encodable {
        var ttl: String?
        var http: String?
        var tcp: String?
        var interval: String?
        var timeout: String?
        var status: String?
        var deregisterCriticalServiceAfter: String?

        enum CodingKeys: String, CodingKey {
            case ttl = "TTL"
            case http = "HTTP"
            case tcp = "TCP"
            case interval = "Interval"
            case timeout = "Timeout"
            case status = "Status"
            case deregisterCriticalServiceAfter = "DeregisterCriticalServiceAfter"
        }
    }

    var id: String
    var name: String
    var address: String
    var port: Int
    var tags: [String]
    var meta: [String: String]
    var weights: Weights?
    var check: Check?

    enum CodingKeys: String, CodingKey {
        case id = "ID"
        case name = "Name"
        case address = "Address"
        case port = "Port"
        case tags = "Tags"
        case meta = "Meta"
        case weights = "Weights"
        case check = "Check"
    }
}
