import CLibFuzzer
@_spi(Fuzzing) import KubernetesDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: its first byte picks the parser (KubernetesFuzzing.parse: a kubeconfig, watch
/// lines, a list page, an ExecCredential), the rest is the bytes. A crash, a hang (libFuzzer's
/// -timeout) or an oversized allocation (-rss_limit_mb, -malloc_limit_mb) is a finding.
func fuzzKubernetes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: start + 1, count: count - 1))
    precondition(KubernetesFuzzing.parse(bytes, kind: start[0]) >= 0)
    return 0
}

/// libFuzzer's usual entry point. The driver below is given the callback directly; this is
/// here because the fuzzer runtime's own `main` refers to it, which a debug link resolves.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzKubernetes(data, size)
}

// SwiftPM links an executable's main under its own name, so libFuzzer's main is not used:
// the program starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzKubernetes(data, size) })
