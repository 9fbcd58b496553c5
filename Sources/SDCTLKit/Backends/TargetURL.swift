import Discovery

/// A target URL taken apart (`scheme://authority/path?query`), with the checks most backends
/// share; a backend turns it into its own target.
struct TargetURL: Sendable {
    /// The whole text, for messages, with any password in it masked (``Redaction``).
    let text: String
    /// Lower-cased.
    let scheme: String
    let authority: String
    /// Starts with `/` unless empty.
    let path: String
    /// Without the `?`.
    let query: Substring

    init(_ text: String, scheme: String, rest: Substring) throws(CLIError) {
        self.text = Redaction.redactingURLs(in: text)
        self.scheme = scheme
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        var pathAndQuery = rest.dropFirst(authority.count)
        var query: Substring = ""
        if let mark = pathAndQuery.firstIndex(of: "?") {
            query = pathAndQuery[pathAndQuery.index(after: mark)...]
            pathAndQuery = pathAndQuery[..<mark]
        }
        self.authority = authority
        self.path = String(pathAndQuery)
        self.query = query
        guard !text.contains("#"), !text.contains(" ") else {
            throw invalid("fragments and spaces are not allowed")
        }
    }

    /// A usage error about this target.
    func invalid(_ why: String) -> CLIError { .usage("invalid target '\(text)': \(why)") }

    /// Every `host[:port]` of a comma-separated authority.
    func hosts(defaultPort: UInt16) throws(CLIError) -> [HostPort] {
        guard !authority.isEmpty else { throw invalid("missing host") }
        guard !authority.contains("@") else {
            throw invalid("credentials do not belong in the URL; use the backend's environment variables")
        }
        var result: [HostPort] = []
        for part in authority.split(separator: ",", omittingEmptySubsequences: false) {
            do {
                result.append(try HostPort(parsing: String(part), defaultPort: defaultPort))
            } catch {
                throw invalid(error.message)
            }
        }
        return result
    }

    /// The one `host[:port]` of the authority.
    func host(defaultPort: UInt16) throws(CLIError) -> HostPort {
        let all = try hosts(defaultPort: defaultPort)
        guard all.count == 1 else { throw invalid("\(scheme):// takes one host") }
        return all[0]
    }

    func requireNoQuery() throws(CLIError) {
        guard query.isEmpty else { throw invalid("\(scheme):// takes no query parameters") }
    }

    /// `key` and optional `value` of each `&`-separated query parameter.
    var parameters: [(key: Substring, value: String?)] {
        query.split(separator: "&").map { pair in
            (
                pair.prefix { $0 != "=" },
                pair.contains("=") ? String(pair.drop { $0 != "=" }.dropFirst()) : nil
            )
        }
    }
}
