import CLibFuzzer
import DNSDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// One input: decode it as a DNS reply. Decoding must either succeed or throw; a crash, a
/// hang (libFuzzer's -timeout) or an oversized allocation (-rss_limit_mb, -malloc_limit_mb)
/// is a finding. A decoded message is read through, so that every string it holds is touched;
/// TXT records go through DNS-SD's key/value rules, and PTR and SRV names through the label
/// splitting a DNS-SD browse does.
func fuzzDNSReply(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let message = try? DNSMessage(decoding: bytes) else { return 0 }
    var total = message.questions.reduce(0) { $0 + $1.name.utf8.count }
    for record in message.answers + message.authorities + message.additionals {
        total &+= record.name.utf8.count
        switch record.data {
        case .srv(_, _, _, let target), .ptr(let target):
            total &+= target.utf8.count
            total &+= ((try? DNSName.labels(target)) ?? []).count
        case .txt(let strings):
            total &+= DNSSDTXTRecord(strings: strings).metadata.count
        default:
            break
        }
    }
    precondition(total >= 0)
    return 0
}

/// libFuzzer's usual entry point. The driver below is given the callback directly; this is
/// here because the fuzzer runtime's own `main` refers to it, which a debug link resolves.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzDNSReply(data, size)
}

// SwiftPM links an executable's main under its own name, so libFuzzer's main is not used:
// the program starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzDNSReply(data, size) })
