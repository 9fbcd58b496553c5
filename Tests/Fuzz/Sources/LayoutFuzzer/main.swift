import CLibFuzzer
import Discovery
import EtcdDiscovery
import ZooKeeperDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: its first byte picks the parser (even: a ZooKeeper child's data in Curator's
/// layout, odd: an etcd value in etcd's gRPC naming layout), the rest is the bytes. Whatever
/// parses must become an instance or a clear error, and write JSON that parses back the same. A
/// crash, a hang (libFuzzer's -timeout) or an oversized allocation is a finding.
func fuzzLayouts(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: start + 1, count: count - 1))
    if start[0] % 2 == 0 {
        guard let read = try? CuratorServiceInstance(json: bytes) else { return 0 }
        _ = try? read.instance(port: .plain)
        _ = try? read.instance(port: .ssl)
        precondition(ZooKeeperLayout.of(data: read.json) == .curator)
        // What is written is read back as it was (the payload's class and metadata included).
        precondition((try? CuratorServiceInstance(json: read.json)) == read)
    } else {
        guard let read = try? GRPCNamingUpdate(json: bytes) else { return 0 }
        _ = try? read.instance(id: "fuzz")
        precondition((try? GRPCNamingUpdate(json: read.json)) == read)
    }
    return 0
}

/// libFuzzer's usual entry point. The driver below is given the callback directly; this is
/// here because the fuzzer runtime's own `main` refers to it, which a debug link resolves.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzLayouts(data, size)
}

// SwiftPM links an executable's main under its own name, so libFuzzer's main is not used:
// the program starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzLayouts(data, size) })
