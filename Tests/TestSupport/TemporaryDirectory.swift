#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under $TMPDIR, removed with everything in it by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "sdctl-test") {
        let base = ProcessEnvironment.value("TMPDIR") ?? "/tmp"
        var template = Array("\(base)/\(label).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func remove() {
        _ = system("rm -rf '\(path)'")
    }
}

public enum ProcessEnvironment {
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
