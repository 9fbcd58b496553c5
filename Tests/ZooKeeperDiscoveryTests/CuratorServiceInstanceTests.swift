import Discovery
import Foundation
import Testing
import ZooKeeperDiscovery

/// Curator's `ServiceInstance` JSON: read as Curator and Spring Cloud Zookeeper write it, written
/// as they would, and hostile data refused with a reason.
@Suite("Curator's ServiceInstance JSON")
struct CuratorServiceInstanceTests {
    /// What Curator 5.4's `registerService` wrote for a Spring Cloud Zookeeper payload, copied
    /// from a real server (Tests/Peers/curator).
    static let written = Array(
        #"{"name":"web","id":"id-1","address":"10.0.0.1","port":8080,"sslPort":null,"payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance","id":"id-1","name":"web","metadata":{"zone":"eu-1","version":"2"}},"registrationTimeUTC":1796403357466,"serviceType":"DYNAMIC","uriSpec":null}"#
            .utf8)

    @Test("Curator's own bytes: address and port, id, the payload's metadata, the zone and the service type")
    func readsCurator() throws {
        let read = try CuratorServiceInstance(json: Self.written)
        #expect(read.name == "web" && read.id == "id-1" && read.port == 8080 && read.sslPort == nil)
        #expect(read.payloadClass == CuratorServiceInstance.springPayloadClass)
        #expect(read.registrationTimeUTC == 1_796_403_357_466)
        let instance = try read.instance()
        #expect(instance.address == "10.0.0.1:8080")
        #expect(instance.id == "id-1")
        #expect(instance.zone == "eu-1")
        #expect(instance.metadata == ["zone": "eu-1", "version": "2", "curator.serviceType": "DYNAMIC"])
        #expect(throws: DiscoveryError.self) { try read.instance(port: .ssl) }
    }

    @Test("written as Curator writes it, and read back the same; strings are escaped")
    func roundTrip() throws {
        let instance = CuratorServiceInstance(
            name: "web", id: "id-1", address: "10.0.0.1", port: 8080,
            metadata: ["version": "2", "zone": "eu-1"], registrationTimeUTC: 1_796_403_357_466)
        // Curator's bytes, but for the metadata's order (sorted here; a map has none).
        let expected = String(decoding: Self.written, as: UTF8.self).replacingOccurrences(
            of: #"{"zone":"eu-1","version":"2"}"#, with: #"{"version":"2","zone":"eu-1"}"#)
        #expect(String(decoding: instance.json, as: UTF8.self) == expected)
        #expect(try CuratorServiceInstance(json: instance.json) == instance)
        let odd = CuratorServiceInstance(
            name: "w\"e\\b", id: "a\u{1}b", address: "::1", port: 1, metadata: ["k\n": "v\t\u{7F}é"])
        #expect(try CuratorServiceInstance(json: odd.json) == odd)
        #expect(try odd.instance().address == "[::1]:1")
    }

    @Test("other payloads: top-level scalars become metadata; weight, sslPort and a null payload")
    func otherPayloads() throws {
        let custom = Array(
            #"{"id":"a","address":"h","port":1,"sslPort":8443,"payload":{"@class":"com.example.Details","description":"x","weight":3,"on":true,"nested":{"k":"v"},"list":[1]}}"#
                .utf8)
        let read = try CuratorServiceInstance(json: custom)
        #expect(read.metadata == ["description": "x", "weight": "3", "on": "true"])
        #expect(try read.instance().weight == 3)
        #expect(try read.instance(port: .ssl).address == "h:8443")
        let bare = try CuratorServiceInstance(
            json: Array(#"{"id":"a","address":"h","port":1,"payload":null}"#.utf8))
        #expect(try bare.instance().metadata.isEmpty)
        let stringPayload = try CuratorServiceInstance(
            json: Array(#"{"id":"a","address":"h","port":1,"payload":"x"}"#.utf8))
        #expect(stringPayload.metadata.isEmpty)
    }

    @Test(
        "malformed, hostile and incomplete data is refused with a reason, never a crash",
        arguments: [
            ("", "not a Curator ServiceInstance"),
            ("{", "not a Curator ServiceInstance"),
            ("[]", "not a Curator ServiceInstance"),
            (#"{"address":"h","port":1}"#, "without an id"),
            (#"{"id":"a","port":1}"#, "without an address"),
            (#"{"id":"a","address":"h","port":"80"}"#, "port has the wrong type"),
            (#"{"id":"a","address":"h","port":1,"payload":"#, "not a Curator ServiceInstance"),
            (String(repeating: "[", count: 100_000), "not a Curator ServiceInstance"),
            (
                #"{"id":"a","address":"h","payload":{"metadata":"#
                    + String(repeating: "{\"a\":", count: 5000), "not a Curator ServiceInstance"
            ),
        ])
    func refused(text: String, reason: String) {
        let error = #expect(throws: DiscoveryError.self) {
            try CuratorServiceInstance(json: Array(text.utf8))
        }
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test(
        "an instance that cannot be an address is refused",
        arguments: [
            (#"{"id":"a","address":"h"}"#, "has no port"),
            (#"{"id":"a","address":"h","port":0}"#, "not 1-65535"),
            (#"{"id":"a","address":"h","port":70000}"#, "not 1-65535"),
            (#"{"id":"a","address":"bad host\u001b[31m","port":80}"#, "invalid address"),
        ])
    func unusable(text: String, reason: String) throws {
        let read = try CuratorServiceInstance(json: Array(text.utf8))
        let error = #expect(throws: DiscoveryError.self) { try read.instance() }
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\u{1B}") == false)
    }

    @Test("the layout of a child's data: JSON is Curator's, anything else go-kit's")
    func layoutOfData() {
        #expect(ZooKeeperLayout.of(data: Self.written) == .curator)
        #expect(ZooKeeperLayout.of(data: Array(" \n{".utf8)) == .curator)
        #expect(ZooKeeperLayout.of(data: Array("10.0.0.1:80".utf8)) == .gokit)
        #expect(ZooKeeperLayout.of(data: []) == .gokit)
    }
}
