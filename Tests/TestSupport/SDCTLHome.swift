/// Runs `body` with a fresh SDCTL_HOME (the file backend's directory) and the environment that
/// points sdctl at it, without colour; the directory is removed when `body` ends, however it
/// ends.
public func withSDCTLHome<Result>(
    _ label: String,
    _ body: (_ home: TemporaryDirectory, _ environment: [String: String]) async throws -> Result
) async throws -> Result {
    let home = TemporaryDirectory(label)
    defer { home.remove() }
    return try await body(home, ["SDCTL_HOME": home.path, "NO_COLOR": "1"])
}
