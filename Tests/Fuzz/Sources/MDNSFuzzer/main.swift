import CLibFuzzer
@_spi(Fuzzing) import DNSDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: a run of packets (each a 2-byte length, then its bytes) heard by an mDNS querier
/// and a responder (DNSDiscovery's MDNSFuzzing): every packet goes through the decoder, the
/// ones it takes through both state machines and their timers. A crash, a hang, an oversized
/// allocation, a cache past its bound or a packet of ours the decoder refuses is a finding.
func fuzzMDNS(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = MDNSFuzzing.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

/// libFuzzer's usual entry point. The driver below is given the callback directly; this is
/// here because the fuzzer runtime's own `main` refers to it, which a debug link resolves.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzMDNS(data, size)
}

// SwiftPM links an executable's main under its own name, so libFuzzer's main is not used:
// the program starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzMDNS(data, size) })
