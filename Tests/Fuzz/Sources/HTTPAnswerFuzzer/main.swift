import CLibFuzzer
@_spi(Fuzzing) import ConsulDiscovery
@_spi(Fuzzing) import EurekaDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: its first byte picks the answer and how it arrives, the rest is its body: a
/// Consul health answer (an array at the top) when even, a Eureka application (the array at
/// .application.instance) when odd, read whole and in pieces of 1 + byte / 2 bytes. Both
/// reads must end alike, in the same instances or both in an error; a difference, a crash, a
/// hang (libFuzzer's -timeout) or an oversized allocation (-rss_limit_mb, -malloc_limit_mb) is
/// a finding.
func fuzzHTTPAnswer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: start + 1, count: count - 1)
    let piece = 1 + Int(start[0]) / 2
    let instances =
        start[0] % 2 == 0
        ? ConsulAnswerFuzzing.instances(in: body, piece: piece)
        : EurekaAnswerFuzzing.instances(in: body, piece: piece)
    precondition(instances >= -1)
    return 0
}

/// libFuzzer's usual entry point. The driver below is given the callback directly; this is
/// here because the fuzzer runtime's own `main` refers to it, which a debug link resolves.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzHTTPAnswer(data, size)
}

// SwiftPM links an executable's main under its own name, so libFuzzer's main is not used:
// the program starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzHTTPAnswer(data, size) })
