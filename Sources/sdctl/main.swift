import SDCTLKit

#if Etcd || Consul || Eureka || DNS
    import NIOCore
    import NIOPosix
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// A closed pipe (`sdctl watch | head`) should end the process quietly, not with SIGPIPE's
// default message from the shell; writes then fail with EPIPE and the process exits.
signal(SIGPIPE, SIG_IGN)
// Swift Concurrency's jobs run on swift-nio's event loops, where the backends' sockets are, so a
// gRPC call does not hand work between two thread pools (measured in docs/etcd.md). Must come
// before the first task is made.
#if Etcd || Consul || Eureka || DNS
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
#endif
var environment: [String: String] = [:]
var entry = environ
while let pointer = entry.pointee {
    let pair = String(cString: pointer)
    if let equals = pair.firstIndex(of: "=") {
        environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    entry += 1
}
let code = await SDCTL.main(arguments: Array(CommandLine.arguments.dropFirst()), environment: environment)
exit(code)
