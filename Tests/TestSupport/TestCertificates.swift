import Foundation

/// A throwaway CA with a server certificate (for 127.0.0.1 and localhost) and a client
/// certificate it signed, made by Debian's `openssl` in a directory the caller owns. Two days
/// valid; P-256 keys in PEM.
public struct TestCertificates: Sendable {
    public let caFile: String
    public let serverCertificate: String
    public let serverKey: String
    public let clientCertificate: String
    public let clientKey: String
    /// A second CA that signed nothing here: trusting it must fail verification.
    public let otherCAFile: String

    /// Makes them on a thread of its own: openssl runs eight times, and a blocked thread of the
    /// 2-thread cooperative pool stalls every test running in parallel.
    public static func make(in directory: String) async throws -> TestCertificates {
        try await offPool { try TestCertificates(in: directory) }
    }

    /// Blocks the calling thread: from async code use ``make(in:)``.
    public init(in directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw ServerProcesses.Unavailable(
                "openssl is not installed: apt-get install openssl (needed by this test)")
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func ca(_ name: String) throws {
            try Self.openssl(
                ["req", "-x509"] + key + [
                    "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                    "-subj", "/CN=sdctl test \(name)",
                ])
        }
        try ca("ca")
        try ca("other-ca")
        let extensions = "\(directory)/extensions.cnf"
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        for name in ["server", "client"] {
            try Self.openssl(
                ["req"] + key + [
                    "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj",
                    "/CN=\(name)",
                ])
            try Self.openssl([
                "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/ca.pem", "-CAkey",
                "\(directory)/ca.key", "-CAcreateserial", "-out", "\(directory)/\(name).pem", "-days", "2",
                "-extfile", extensions,
            ])
        }
        caFile = "\(directory)/ca.pem"
        otherCAFile = "\(directory)/other-ca.pem"
        serverCertificate = "\(directory)/server.pem"
        serverKey = "\(directory)/server.key"
        clientCertificate = "\(directory)/client.pem"
        clientKey = "\(directory)/client.key"
    }

    private static func openssl(_ arguments: [String]) throws {
        let (status, output) = try ServerProcesses.run("/usr/bin/openssl", arguments)
        guard status == 0 else {
            throw ServerProcesses.Unavailable(
                "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(output)")
        }
    }
}
