import Discovery

extension Probe {
    /// The default of `--probe-timeout`.
    static let defaultTimeout: Duration = .seconds(2)

    /// `resolve --probe`: `tcp`, `http` (GET /) or `http:/path`.
    static func parse(kind text: String, timeout: Duration, _ context: CommandContext) throws(CLIError)
        -> Probe
    {
        if text == "tcp" { return Probe(kind: .tcp, timeout: timeout) }
        if text == "http" { return Probe(kind: .http(path: "/"), timeout: timeout) }
        if text.hasPrefix("http:/"), let path = requestTarget(text.dropFirst(5)) {
            return Probe(kind: .http(path: path), timeout: timeout)
        }
        throw context.usage("--probe takes tcp, http or http:/PATH, not '\(text)'")
    }

    /// `register --ready`: `tcp://HOST:PORT` or `http://HOST[:PORT][/PATH]`, and the address to
    /// check.
    static func parse(url text: String, timeout: Duration, _ context: CommandContext) throws(CLIError)
        -> (Probe, HostPort)
    {
        let invalid = context.usage(
            "--ready takes tcp://HOST:PORT or http://HOST:PORT/PATH, not '\(text)'")
        let lowered = text.lowercased()
        let kind: Kind
        let rest: Substring
        if lowered.hasPrefix("tcp://") {
            rest = text.dropFirst(6)
            guard !rest.contains("/") else { throw invalid }
            kind = .tcp
        } else if lowered.hasPrefix("http://") {
            let afterScheme = text.dropFirst(7)
            let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            rest = afterScheme[..<slash]
            guard let path = requestTarget(slash == afterScheme.endIndex ? "/" : afterScheme[slash...]) else {
                throw invalid
            }
            kind = .http(path: path)
        } else {
            throw invalid
        }
        let address: HostPort
        do {
            address = try HostPort(parsing: String(rest), defaultPort: kind == .tcp ? nil : 80)
        } catch {
            throw context.usage("--ready '\(text)': \(error.message)")
        }
        return (Probe(kind: kind, timeout: timeout), address)
    }

    /// A path that can stand in a request line as it is: starts with `/`, and has no spaces
    /// or control characters.
    private static func requestTarget(_ text: Substring) -> String? {
        guard text.hasPrefix("/"),
            !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
        else { return nil }
        return String(text)
    }
}
