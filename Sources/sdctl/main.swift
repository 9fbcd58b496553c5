import SDCTLKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// A closed pipe (`sdctl watch | head`) should end the process quietly, not with SIGPIPE's
// default message from the shell; writes then fail with EPIPE and the process exits.
signal(SIGPIPE, SIG_IGN)
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
