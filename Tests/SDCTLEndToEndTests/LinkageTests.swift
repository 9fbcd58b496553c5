import TestSupport
import Testing

/// Keeps Foundation, and ICU's 34 MB of data with it, out of sdctl (docs/footprint.md).
///
/// The suite's sdctl is a debug build with shared Swift libraries, where each library a module
/// imports is a NEEDED entry that `ldd` lists. Autolinking follows imports, not the build
/// mode, so the release binary links the same set (in a static build they are archives, which
/// Tests/footprint.sh checks with nm).
@Suite("What sdctl links")
struct LinkageTests {
    @Test("only FoundationEssentials: not Foundation, FoundationInternationalization or ICU")
    func noFoundation() async throws {
        let ldd = try RunningProcess("/usr/bin/ldd", [RunningProcess.sdctl], environment: [:])
        #expect(try await ldd.wait() == 0, "\(ldd.stderr)")
        let libraries = ldd.lines.compactMap {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        #expect(libraries.contains("libswiftCore.so"), "ldd lists the Swift libraries: \(libraries)")
        for forbidden in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"]
        {
            #expect(!libraries.contains(forbidden), "sdctl links \(forbidden): a module imports Foundation")
        }
    }
}
