import Discovery

/// `eureka://h:8761/eureka/apps/WEB` (`eurekas://` with TLS). Parsed and validated; the backend
/// itself is planned (#11).
struct EurekaBackend: PlannedBackend, Equatable {
    static let schemes = ["eureka", "eurekas"]
    let server: HostPort
    let basePath: String
    let app: String
    let tls: Bool
    var scheme: String { tls ? "eurekas" : "eureka" }

    init(server: HostPort, basePath: String, app: String, tls: Bool) {
        self.server = server
        self.basePath = basePath
        self.app = app
        self.tls = tls
    }

    init(url: TargetURL, environment: [String: String]) throws(CLIError) {
        server = try url.host(defaultPort: 8761)
        try url.requireNoQuery()
        let components = url.path.split(separator: "/")
        guard components.count >= 2, components[components.count - 2] == "apps" else {
            throw url.invalid("\(url.scheme):// needs a path ending in /apps/APP, like /eureka/apps/WEB")
        }
        basePath = "/" + components.dropLast(1).joined(separator: "/")
        app = components.last!.uppercased()
        tls = url.scheme == "eurekas"
    }
}
