import Discovery

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Kubernetes backend's parsers of untrusted bytes, for Tests/Fuzz: not API.
@_spi(Fuzzing)
public enum KubernetesFuzzing {
    /// Parses `bytes` as the parser `kind % 4` picks: 0 a kubeconfig file (and every context's
    /// client configuration), 1 a watch stream's lines (each applied to a Service's set of
    /// slices, whose instances are computed after each), 2 an EndpointSlice list page, 3 an exec
    /// plugin's ExecCredential. Returns how many things it accepted; errors are answers, not
    /// findings.
    public static func parse(_ bytes: [UInt8], kind: UInt8) -> Int {
        switch kind % 4 {
        case 0:
            guard let config = try? Kubeconfig(parsing: bytes, path: "/fuzz/config") else { return 0 }
            return config.contexts.keys.filter { (try? config.clientConfiguration(context: $0)) != nil }.count
        case 1:
            var set = EndpointSliceSet(
                namespace: "default", service: "web", selection: .init(), maximumInstances: 10_000)
            var accepted = 0
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                guard let event = try? JSONDecoder().decode(EndpointSliceEvent.self, from: Data(line)) else {
                    continue
                }
                set.apply(event)
                accepted += (try? set.instances().count) ?? 0
            }
            return accepted
        case 2:
            guard let list = try? JSONDecoder().decode(EndpointSliceList.self, from: Data(bytes)) else {
                return 0
            }
            var set = EndpointSliceSet(
                namespace: "default", service: "web",
                selection: .init(port: .named("http"), include: .serving),
                maximumInstances: 10_000)
            set.replaceAll(list.items ?? [])
            return (try? set.instances().count) ?? 0
        default:
            let plugin = ExecCredentialPlugin(command: "fuzz")
            return (try? ExecCredentialSource.credential(bytes, plugin: plugin, name: "fuzz")) == nil ? 0 : 1
        }
    }
}
