import Foundation

/// What `Tests/Peers/build.sh` built ahead of the test run.
enum Prebuilt {
    /// Whether `built` exists and is newer than every one of `sources`.
    static func isCurrent(_ built: String, sources: [String]) -> Bool {
        func modified(_ path: String) -> Date? {
            (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
        guard let builtAt = modified(built) else { return false }
        return sources.allSatisfy { source in modified(source).map { $0 <= builtAt } ?? false }
    }
}
