import Discovery
import DiscoveryHTTP
import Foundation
import Testing

@testable import EurekaDiscovery

@Suite("Eureka: decoding and the registration body (no server)")
struct EurekaUnitTests {
    func decode(_ json: String) throws -> [EurekaInstanceRecord] {
        // As EurekaClient.instances(of:) reads an answer.
        try Array(json.utf8).withUnsafeBytes { raw in
            try JSONArrayScanner.decodeElements(
                EurekaInstanceRecord.self, in: raw, at: ["application", "instance"], limit: 1_000)
        }.compactMap(\.value)
    }

    @Test("an application as an array or, from old servers, a single object; ports as numbers or strings")
    func shapes() throws {
        let one = #"""
            {"application": {"name": "WEB", "instance": {"instanceId": "a", "app": "WEB", "hostName": "h",
             "ipAddr": "10.0.0.1", "status": "UP", "port": {"$": "8080", "@enabled": "true"},
             "securePort": {"$": 8443, "@enabled": false},
             "metadata": {"@class": "java.util.Collections$EmptyMap"},
             "dataCenterInfo": {"@class": "x", "name": "Amazon", "metadata": {"availability-zone": "eu-1a"}}}}}
            """#
        let records = try decode(one)
        #expect(records.count == 1)
        let instance = try #require(records[0].instance())
        #expect(instance.address == "10.0.0.1:8080" && instance.id == "a" && instance.zone == "eu-1a")
        #expect(
            instance.metadata == [
                "eureka.status": "UP", "eureka.app": "WEB", "eureka.hostName": "h",
                "eureka.dataCenter": "Amazon",
            ])
        #expect(records[0].instance(secure: true) == nil, "the secure port is not enabled")
        let many = #"""
            {"application": {"name": "WEB", "instance": [
              {"instanceId": "a", "hostName": "h", "ipAddr": "::1", "status": "SLEEPING",
               "port": {"$": 8080, "@enabled": "false"}, "securePort": {"$": 8443, "@enabled": "true"},
               "metadata": {"zone": "z1", "version": "2"}},
              {"hostName": "only-host", "ipAddr": "10.0.0.2", "status": "DOWN", "port": {"$": 0, "@enabled": "true"}}
            ]}}
            """#
        let both = try decode(many)
        #expect(both[0].status == .unknown)
        let secureOnly = try #require(both[0].instance())
        #expect(secureOnly.address == "[::1]:8443", "only the secure port is enabled")
        #expect(secureOnly.zone == "z1" && secureOnly.metadata["version"] == "2")
        #expect(both[1].instanceID == "only-host", "the id falls back to the host name")
        #expect(both[1].instance() == nil, "port 0")
        // An instance whose port is not a number is skipped, not the whole answer.
        #expect(try decode(#"{"application": {"instance": [{"port": {"$": "x"}}]}}"#).isEmpty)
    }

    @Test("the registration body carries everything a server demands")
    func registrationBody() throws {
        let registration = EurekaRegistration(
            instanceID: "10.0.0.1:web:8080", app: "web", hostName: "10.0.0.1", ipAddr: "10.0.0.1", port: 8080,
            metadata: ["version": "2"], renewalInterval: .seconds(10), leaseDuration: .seconds(30))
        let object = try JSONSerialization.jsonObject(with: Data(registration.body())) as! [String: Any]
        let instance = object["instance"] as! [String: Any]
        #expect(instance["app"] as? String == "WEB")
        #expect(instance["instanceId"] as? String == "10.0.0.1:web:8080")
        #expect(instance["status"] as? String == "UP")
        #expect((instance["port"] as? [String: Any])?["$"] as? Int == 8080)
        #expect((instance["port"] as? [String: Any])?["@enabled"] as? String == "true")
        #expect((instance["securePort"] as? [String: Any])?["@enabled"] as? String == "false")
        let dataCenter = instance["dataCenterInfo"] as? [String: Any]
        #expect(dataCenter?["@class"] as? String == "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo")
        #expect(dataCenter?["name"] as? String == "MyOwn")
        let lease = instance["leaseInfo"] as? [String: Any]
        #expect(lease?["renewalIntervalInSecs"] as? Int == 10 && lease?["durationInSecs"] as? Int == 30)
        #expect(instance["vipAddress"] as? String == "web")
    }

    @Test("statuses Eureka does not know read as UNKNOWN")
    func statuses() {
        #expect(EurekaStatus(reading: "OUT_OF_SERVICE") == .outOfService)
        #expect(EurekaStatus(reading: "up") == .unknown)
    }
}
