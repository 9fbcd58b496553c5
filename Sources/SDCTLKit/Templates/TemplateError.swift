/// A template that cannot be parsed or rendered, with where: `SRC:LINE:COLUMN: message`.
struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based; 0 when the error has no place in the source (the output grew too large).
    var line: Int
    /// 1-based, in Unicode scalars.
    var column: Int
    var message: String

    var description: String { line == 0 ? message : "\(line):\(column): \(message)" }

    /// The error as `source:line:column: message`, for a template read from `source`.
    func located(in source: String) -> String {
        line == 0 ? "\(source): \(message)" : "\(source):\(line):\(column): \(message)"
    }
}
