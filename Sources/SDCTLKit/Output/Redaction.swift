/// Passwords kept out of what sdctl shows.
///
/// A target such as `etcd://root:hunter2@host/...` is rejected (credentials come from the
/// environment), but its text is still quoted in the error, and a label, a log line or a JSON
/// `target` field can hold it too. Every URL's userinfo password is replaced by `xxxxx` before
/// it is shown, as Go's `url.URL.Redacted` does; the user name stays, to say which one.
enum Redaction {
    static let mask = "xxxxx"

    /// `text` with the password of every `scheme://user:password@` in it replaced.
    static func redactingURLs(in text: String) -> String {
        guard text.contains("@"), text.contains("://") else { return text }
        var result = ""
        var rest = Substring(text)
        while let separator = rest.firstRange(of: "://") {
            result += rest[..<separator.upperBound]
            rest = rest[separator.upperBound...]
            // The authority: up to the path, query or fragment, or whatever ends a quoted URL.
            let authority = rest.prefix { !"/?#'\" \t\n<>".contains($0) }
            guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":")
            else { continue }
            result += authority[...colon] + mask
            rest = rest[at...]
        }
        return result + rest
    }
}
