/// Where this repository's checkout is, for tests that read committed files (completions, the
/// man page) or run its scripts (`.ci/install`).
public enum Repository {
    /// The checkout's root, found from this file's path (Tests/TestSupport/Repository.swift).
    public static let root: String = {
        var parts = #filePath.split(separator: "/")
        parts.removeLast(3)
        return "/" + parts.joined(separator: "/")
    }()
}
