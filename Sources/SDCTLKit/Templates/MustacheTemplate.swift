/// A parsed Mustache template (the logic-less language of mustache(5)): `{{name}}`,
/// `{{{name}}}` and `{{& name}}` variables, `{{#name}}` sections over lists, objects and
/// true values, `{{^name}}` inverted sections, `{{! comments}}`, dotted names (`a.b`) and
/// `{{.}}`, with the standalone-line rule (a line holding only a section tag or a comment
/// leaves nothing in the output).
///
/// It renders text, not HTML: `{{name}}` writes the value as it is (Mustache's HTML escaping
/// would turn `&` into `&amp;` in a proxy's configuration). Partials and delimiter changes are
/// refused with their place. A name that is not there renders nothing, as Mustache says.
///
/// Bounds: a source of at most ``maximumSourceBytes``, sections nested at most
/// ``maximumDepth`` deep, and output of at most the `limit` given to ``render(_:limit:)``.
struct MustacheTemplate: Sendable {
    static let maximumSourceBytes = 1 << 20
    static let maximumDepth = 64

    indirect enum Node: Sendable, Equatable {
        case text(String)
        case variable(TemplateName)
        case section(TemplateName, inverted: Bool, [Node])
    }

    let nodes: [Node]

    init(parsing source: String) throws(TemplateError) {
        nodes = try MustacheParser(source).parse()
    }

    /// Renders with `value` as the context; throws when the output would pass `limit` bytes.
    func render(_ value: TemplateValue, limit: Int = 64 << 20) throws(TemplateError) -> String {
        var output = ""
        var stack = [value]
        try Self.render(nodes, stack: &stack, into: &output, limit: limit)
        return output
    }

    private static func render(
        _ nodes: [Node], stack: inout [TemplateValue], into output: inout String, limit: Int
    ) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .variable(let name):
                name.resolve(in: stack)?.appendText(to: &output)
            case .section(let name, let inverted, let children):
                let value = name.resolve(in: stack)
                let truthy = value?.isTruthy ?? false
                if inverted {
                    if !truthy { try render(children, stack: &stack, into: &output, limit: limit) }
                    continue
                }
                guard truthy, let value else { continue }
                switch value {
                case .list(let items):
                    for item in items {
                        stack.append(item)
                        defer { stack.removeLast() }
                        try render(children, stack: &stack, into: &output, limit: limit)
                    }
                case .bool:
                    try render(children, stack: &stack, into: &output, limit: limit)
                case .string, .number, .object:
                    stack.append(value)
                    defer { stack.removeLast() }
                    try render(children, stack: &stack, into: &output, limit: limit)
                }
            }
            if output.utf8.count > limit {
                throw TemplateError(line: 0, column: 0, message: "the rendered output is over \(limit) bytes")
            }
        }
    }
}

/// A tag's name: `.` (the current value) or dotted segments.
struct TemplateName: Sendable, Equatable {
    /// Empty for `.`.
    var segments: [String]

    /// Mustache's lookup: the first segment in the innermost context that has it, the rest
    /// inside what it found.
    func resolve(in stack: [TemplateValue]) -> TemplateValue? {
        guard let first = segments.first else { return stack.last }
        var found: TemplateValue?
        for context in stack.reversed() {
            if let value = context[member: first] {
                found = value
                break
            }
        }
        for segment in segments.dropFirst() {
            found = found?[member: segment]
        }
        return found
    }
}
