import CLibFuzzer
@_spi(Fuzzing) import EtcdDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: the bytes a hostile server sends on a gRPC connection with three calls open
/// (EtcdDiscovery's GRPCConnectionFuzzing says how it is run). A crash, a hang (libFuzzer's
/// -timeout), an oversized allocation (-rss_limit_mb, -malloc_limit_mb) or a call left open
/// is a finding.
func fuzzGRPCConnection(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    GRPCConnectionFuzzing.run(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

/// libFuzzer's usual entry point (see DNSReplyFuzzer for why it is here as well).
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzGRPCConnection(data, size)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzGRPCConnection(data, size) })
