#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A complete InstanceInfo as `POST <base>/apps/<APP>` takes it, wrapped in `{"instance": ..}`.
public struct EurekaRegistration: Sendable, Hashable {
    public var instanceID: String
    /// Upper-cased, as the server stores it.
    public var app: String
    public var hostName: String
    public var ipAddr: String
    public var port: Int
    /// Sent enabled when set.
    public var securePort: Int?
    public var status: EurekaStatus
    public var vipAddress: String
    public var metadata: [String: String]
    /// How often the registrar renews, and how long the server keeps a lease nobody renews.
    public var renewalInterval: Duration
    public var leaseDuration: Duration

    public init(
        instanceID: String, app: String, hostName: String, ipAddr: String, port: Int, securePort: Int? = nil,
        status: EurekaStatus = .up, vipAddress: String? = nil, metadata: [String: String] = [:],
        renewalInterval: Duration = .seconds(30), leaseDuration: Duration = .seconds(90)
    ) {
        self.instanceID = instanceID
        self.app = app.uppercased()
        self.hostName = hostName
        self.ipAddr = ipAddr
        self.port = port
        self.securePort = securePort
        self.status = status
        self.vipAddress = vipAddress ?? app.lowercased()
        self.metadata = metadata
        self.renewalInterval = renewalInterval
        self.leaseDuration = leaseDuration
    }

    /// The JSON body.
    func body() -> [UInt8] {
        struct PortBody: Encodable {
            var number: Int
            var enabled: String
            enum CodingKeys: String, CodingKey {
                case number = "$"
                case enabled = "@enabled"
            }
        }
        struct DataCenterBody: Encodable {
            var className = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
            var name = "MyOwn"
            enum CodingKeys: String, CodingKey {
                case className = "@class"
                case name
            }
        }
        struct LeaseBody: Encodable {
            var renewalIntervalInSecs: Int64
            var durationInSecs: Int64
        }
        struct InstanceBody: Encodable {
            var instanceId: String
            var app: String
            var hostName: String
            var ipAddr: String
            var status: String
            var port: PortBody
            var securePort: PortBody
            var vipAddress: String
            var secureVipAddress: String
            var dataCenterInfo = DataCenterBody()
            var leaseInfo: LeaseBody
            var metadata: [String: String]
        }
        struct Wrapper: Encodable { var instance: InstanceBody }
        let body = InstanceBody(
            instanceId: instanceID, app: app, hostName: hostName, ipAddr: ipAddr, status: status.rawValue,
            port: PortBody(number: port, enabled: "true"),
            securePort: PortBody(number: securePort ?? 443, enabled: securePort == nil ? "false" : "true"),
            vipAddress: vipAddress, secureVipAddress: vipAddress,
            leaseInfo: LeaseBody(
                renewalIntervalInSecs: max(renewalInterval.components.seconds, 1),
                durationInSecs: max(leaseDuration.components.seconds, 1)),
            metadata: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Plain strings and numbers: encoding cannot fail.
        return Array((try? encoder.encode(Wrapper(instance: body))) ?? Data())
    }
}
