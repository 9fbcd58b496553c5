import Foundation

/// Real third-party clients from PyPI (py-consul, py-eureka-client; pinned in
/// Tests/Emulators/requirements.txt), installed by .ci/run into the checkout's `.build-python`
/// virtualenv.
public enum PythonClients {
    /// The virtualenv's interpreter: SDCTL_TEST_PYTHON, or `.build-python/bin/python` of this
    /// checkout.
    public static let python: String = {
        if let path = ProcessInfo.processInfo.environment["SDCTL_TEST_PYTHON"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build-python/bin/python").path
    }()

    /// A Python 3 for the emulator, which needs only the standard library.
    public static let systemPython: String = {
        for candidate in [python, "/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/env"  // falls back to python3 on the PATH through env below
    }()

    /// Runs `script` with the pinned clients importable, off the cooperative pool; returns its
    /// stdout and stderr together, or throws with them when it exits non-zero.
    public static func run(_ script: String, arguments: [String] = []) async throws -> String {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw ServerProcesses.Unavailable(
                "the pinned Python clients are not installed at \(python): run bash .ci/run, or python3 -m venv .build-python && .build-python/bin/pip install -r Tests/Emulators/requirements.txt"
            )
        }
        let (status, output) = try await offPool {
            try ServerProcesses.run(python, ["-c", script] + arguments)
        }
        guard status == 0 else {
            throw ServerProcesses.Unavailable("Python client script failed (\(status)): \(output)")
        }
        return output
    }
}
