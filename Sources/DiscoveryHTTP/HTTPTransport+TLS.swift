import Discovery
import NIOSSL

extension HTTPTransport {
    /// The client TLS configuration for `tls`, with every file read now.
    static func tlsConfiguration(_ tls: TLSFiles) throws(DiscoveryError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = tls.verify ? .fullVerification : .none
        var roots: [NIOSSLCertificate] = []
        if let pem = tls.caPEM {
            roots += try certificates(pem: pem, variable: tls.names.ca + "-data")
        } else if let file = tls.caFile {
            roots += try certificates(in: file, variable: tls.names.ca)
        }
        if let directory = tls.caDirectory {
            let files: [String]
            do {
                files = try TextFile.files(in: directory, endingIn: [".pem", ".crt"])
            } catch {
                throw DiscoveryError(
                    .invalidArgument, "\(tls.names.caDirectory): cannot read directory '\(directory)'")
            }
            for file in files { roots += try certificates(in: file, variable: tls.names.caDirectory) }
        }
        if tls.caFile != nil || tls.caDirectory != nil || tls.caPEM != nil {
            configuration.trustRoots = .certificates(roots)
        }
        if let certificatePEM = tls.certificatePEM, tls.keyPEM != nil || tls.keyFile != nil {
            configuration.certificateChain = try certificates(
                pem: certificatePEM, variable: tls.names.certificate + "-data"
            ).map { .certificate($0) }
            configuration.privateKey = .privateKey(try privateKey(tls))
        } else if let certificateFile = tls.certificateFile, tls.keyPEM != nil {
            configuration.certificateChain = try certificates(
                in: certificateFile, variable: tls.names.certificate
            )
            .map { .certificate($0) }
            configuration.privateKey = .privateKey(try privateKey(tls))
        } else if let certificateFile = tls.certificateFile, let keyFile = tls.keyFile {
            configuration.certificateChain = try certificates(
                in: certificateFile, variable: tls.names.certificate
            )
            .map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw DiscoveryError(
                    .invalidArgument, "\(tls.names.key): cannot load a PEM private key from '\(keyFile)'",
                    cause: error)
            }
        }
        return configuration
    }

    /// The key of `tls`, from its PEM if it has one, else from its file.
    private static func privateKey(_ tls: TLSFiles) throws(DiscoveryError) -> NIOSSLPrivateKey {
        do {
            if let pem = tls.keyPEM { return try NIOSSLPrivateKey(bytes: pem, format: .pem) }
            return try NIOSSLPrivateKey(file: tls.keyFile ?? "", format: .pem)
        } catch {
            let source =
                tls.keyPEM != nil ? "\(tls.names.key)-data" : "\(tls.names.key) '\(tls.keyFile ?? "")'"
            throw DiscoveryError(
                .invalidArgument, "cannot load a PEM private key from \(source)", cause: error)
        }
    }

    private static func certificates(pem: [UInt8], variable: String) throws(DiscoveryError)
        -> [NIOSSLCertificate]
    {
        let loaded: [NIOSSLCertificate]
        do {
            loaded = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch {
            throw DiscoveryError(.invalidArgument, "\(variable): cannot load PEM certificates", cause: error)
        }
        guard !loaded.isEmpty else {
            throw DiscoveryError(.invalidArgument, "\(variable): no PEM certificate")
        }
        return loaded
    }

    private static func certificates(in file: String, variable: String) throws(DiscoveryError)
        -> [NIOSSLCertificate]
    {
        let loaded: [NIOSSLCertificate]
        do {
            loaded = try NIOSSLCertificate.fromPEMFile(file)
        } catch {
            throw DiscoveryError(
                .invalidArgument, "\(variable): cannot load PEM certificates from '\(file)'", cause: error)
        }
        guard !loaded.isEmpty else {
            throw DiscoveryError(.invalidArgument, "\(variable): no PEM certificate in '\(file)'")
        }
        return loaded
    }
}
