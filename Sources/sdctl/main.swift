import SDCTLKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// A closed pipe (`sdctl watch | head`) should end the process quietly, not with SIGPIPE's
// default message from the shell; writes then fail with EPIPE and the process exits.
signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
// --version, help and a command line that does not parse are answered before anything else:
// no environment, no task, no threads (docs/benchmarks.md, "Process start").
if let code = SDCTL.immediate(arguments: arguments) { exit(code) }
// Swift Concurrency's jobs run on swift-nio's event loops, where the backends' sockets are, so a
// gRPC call does not hand work between two thread pools (measured in docs/etcd.md). Must come
// before the first task is made. Only a command naming a target of a backend on swift-nio needs
// it: starting the event loops is about a tenth of starting sdctl (docs/benchmarks.md), which
// `--version`, help, completions and the file and ZooKeeper backends need not pay. Package.swift
// defines SDCTL_EVENT_LOOPS when a backend on the event loops is built in.
var globalExecutor = "Swift's default"
#if SDCTL_EVENT_LOOPS
    if SDCTL.needsEventLoops(arguments: arguments) {
        globalExecutor = EventLoopExecutor.install() ? "swift-nio's event loops" : "another hook's"
    }
#endif
// The environment, split at each variable's first `=` on its bytes (Character-wise search
// measured at a tenth of `--version`'s instructions).
var environment: [String: String] = [:]
var entry = environ
while let pointer = entry.pointee {
    let length = strlen(pointer)
    let bytes = UnsafeBufferPointer(
        start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
        environment[String(decoding: bytes[..<equals], as: UTF8.self)] = String(
            decoding: bytes[(equals + 1)...], as: UTF8.self)
    }
    entry += 1
}
#if SDCTL_EVENT_LOOPS
    // Only -v shows it: the check is a task of its own.
    for argument in arguments where argument == "-v" || argument == "--verbose" {
        let onLoops = await EventLoopExecutor.tasksRunOnEventLoops()
        globalExecutor += onLoops ? " (a task ran on an event loop)" : " (a task ran off the event loops)"
        break
    }
#endif
let code = await SDCTL.main(arguments: arguments, environment: environment, globalExecutor: globalExecutor)
exit(code)
