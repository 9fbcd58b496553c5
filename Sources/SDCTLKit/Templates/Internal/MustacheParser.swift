/// Parses a template's bytes into ``MustacheTemplate/Node``s, keeping where each tag began for
/// the errors.
struct MustacheParser {
    private let bytes: [UInt8]

    init(_ source: String) {
        bytes = Array(source.utf8)
    }

    private struct OpenSection {
        var name: TemplateName
        var text: String
        var inverted: Bool
        var start: Int
        var nodes: [MustacheTemplate.Node]
    }

    func parse() throws(TemplateError) -> [MustacheTemplate.Node] {
        guard bytes.count <= MustacheTemplate.maximumSourceBytes else {
            throw TemplateError(
                line: 0, column: 0,
                message: "the template is over \(MustacheTemplate.maximumSourceBytes) bytes")
        }
        var open: [OpenSection] = []
        var nodes: [MustacheTemplate.Node] = []
        var textStart = 0
        var index = 0
        func emitText(upTo end: Int) {
            if end > textStart {
                nodes.append(.text(String(decoding: bytes[textStart..<end], as: UTF8.self)))
            }
        }
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "{"), bytes[index + 1] == UInt8(ascii: "{") else {
                index += 1
                continue
            }
            let tagStart = index
            let triple = index + 2 < bytes.count && bytes[index + 2] == UInt8(ascii: "{")
            let contentStart = index + (triple ? 3 : 2)
            let closer: [UInt8] = triple ? Array("}}}".utf8) : Array("}}".utf8)
            guard let contentEnd = find(closer, from: contentStart) else {
                throw error(
                    at: tagStart, "this tag is never closed with '\(String(decoding: closer, as: UTF8.self))'"
                )
            }
            let tagEnd = contentEnd + closer.count
            var content = Substring(String(decoding: bytes[contentStart..<contentEnd], as: UTF8.self))
            var sigil: Character? = nil
            if triple {
                sigil = "&"
            } else if let first = content.first, "#^/!&>=".contains(first) {
                sigil = first
                content = content.dropFirst()
            }
            let text = content.trimmingSpaces
            // Section tags and comments alone on their line take the line with them.
            var next = tagEnd
            var emitEnd = tagStart
            if sigil.map({ "#^/!".contains($0) }) == true, let standalone = standaloneLine(tagStart, tagEnd) {
                emitEnd = standalone.lineStart
                next = standalone.next
            }
            emitText(upTo: emitEnd)
            switch sigil {
            case "!":
                break
            case ">":
                throw error(at: tagStart, "partials ({{> name}}) are not supported")
            case "=":
                throw error(at: tagStart, "changing the delimiters ({{=<% %>=}}) is not supported")
            case "#", "^":
                guard open.count < MustacheTemplate.maximumDepth else {
                    throw error(at: tagStart, "sections nested over \(MustacheTemplate.maximumDepth) deep")
                }
                open.append(
                    OpenSection(
                        name: try name(text, at: tagStart), text: String(text), inverted: sigil == "^",
                        start: tagStart, nodes: nodes))
                nodes = []
            case "/":
                guard let section = open.popLast() else {
                    throw error(at: tagStart, "{{/\(text)}} closes no section")
                }
                guard section.text == text else {
                    let (line, column) = position(of: section.start)
                    throw error(
                        at: tagStart,
                        "{{/\(text)}} closes {{\(section.inverted ? "^" : "#")\(section.text)}} (opened at \(line):\(column))"
                    )
                }
                let children = nodes
                nodes = section.nodes
                nodes.append(.section(section.name, inverted: section.inverted, children))
            default:
                nodes.append(.variable(try name(text, at: tagStart)))
            }
            textStart = next
            index = next
        }
        if let section = open.last {
            throw error(
                at: section.start, "{{\(section.inverted ? "^" : "#")\(section.text)}} is never closed")
        }
        textStart = min(textStart, bytes.count)
        emitText(upTo: bytes.count)
        return nodes
    }

    private func name(_ text: Substring, at offset: Int) throws(TemplateError) -> TemplateName {
        if text == "." { return TemplateName(segments: []) }
        let segments = text.split(separator: ".", omittingEmptySubsequences: false)
        let valid = segments.allSatisfy { segment in
            !segment.isEmpty
                && segment.utf8.allSatisfy { byte in
                    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                        || (byte >= 0x61 && byte <= 0x7A)
                        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                }
        }
        guard valid else {
            throw error(at: offset, "'\(text)' is not a name (letters, digits, '_' and '-', joined by '.')")
        }
        return TemplateName(segments: segments.map(String.init))
    }

    /// When the tag at `start..<end` is alone on its line (only spaces and tabs beside it):
    /// where its line starts and where the next line does.
    private func standaloneLine(_ start: Int, _ end: Int) -> (lineStart: Int, next: Int)? {
        var lineStart = start
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") {
            guard bytes[lineStart - 1] == UInt8(ascii: " ") || bytes[lineStart - 1] == UInt8(ascii: "\t")
            else {
                return nil
            }
            lineStart -= 1
        }
        var next = end
        while next < bytes.count, bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: "\t") {
            next += 1
        }
        if next == bytes.count { return (lineStart, next) }
        if bytes[next] == UInt8(ascii: "\n") { return (lineStart, next + 1) }
        if bytes[next] == UInt8(ascii: "\r"), next + 1 < bytes.count, bytes[next + 1] == UInt8(ascii: "\n") {
            return (lineStart, next + 2)
        }
        return nil
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }

    /// The 1-based line and column (in Unicode scalars) of a byte offset.
    private func position(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[..<offset] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }

    private func error(at offset: Int, _ message: String) -> TemplateError {
        let (line, column) = position(of: offset)
        return TemplateError(line: line, column: column, message: message)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\n" || first == "\r" {
            text = text.dropFirst()
        }
        while let last = text.last, last == " " || last == "\t" || last == "\n" || last == "\r" {
            text = text.dropLast()
        }
        return text
    }
}
