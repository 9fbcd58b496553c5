/// What a template reads: the values of a Mustache context.
///
/// Truthiness, as Mustache sections see it: `false`, an empty string, an empty list and an
/// absent name are false; everything else (an object, `true`, a number, a non-empty string or
/// list) is true.
enum TemplateValue: Sendable, Equatable {
    case string(String)
    case number(Int)
    case bool(Bool)
    case list([TemplateValue])
    case object([String: TemplateValue])

    var isTruthy: Bool {
        switch self {
        case .bool(let value): value
        case .string(let text): !text.isEmpty
        case .list(let items): !items.isEmpty
        case .number, .object: true
        }
    }

    /// What `{{name}}` writes: strings and numbers as they are, booleans as `true`/`false`, a
    /// list of scalars joined with commas (`{{tags}}`), an object nothing.
    func appendText(to output: inout String) {
        switch self {
        case .string(let text): output += text
        case .number(let number): output += String(number)
        case .bool(let value): output += value ? "true" : "false"
        case .list(let items):
            var first = true
            for item in items {
                switch item {
                case .string, .number, .bool:
                    if !first { output += "," }
                    first = false
                    item.appendText(to: &output)
                case .list, .object: continue
                }
            }
        case .object: break
        }
    }

    /// The member `name` of an object; nil for anything else or a missing member.
    subscript(member name: String) -> TemplateValue? {
        guard case .object(let members) = self else { return nil }
        return members[name]
    }
}
