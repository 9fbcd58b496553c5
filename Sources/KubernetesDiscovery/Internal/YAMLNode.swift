import CYAML

/// A YAML document as a tree of strings, sequences and mappings: what a kubeconfig needs.
///
/// Built from libyaml's events without recursion. Scalars stay text (a field's reader says what
/// it must be); a plain `~`, `null` or nothing is ``null``. Anchors' aliases are refused (no
/// kubeconfig needs one, and they are how a small file becomes a huge tree), as are keys that
/// are not scalars and a key twice in one mapping. Only the first document counts.
enum YAMLNode: Equatable, Sendable {
    case null
    case scalar(String)
    case sequence([YAMLNode])
    case mapping([Pair])

    struct Pair: Equatable, Sendable {
        var key: String
        var value: YAMLNode
    }

    /// Why a document was not read: libyaml's problem with its line, or a limit.
    struct ParseError: Error, Equatable {
        var message: String
    }

    /// The value of `key` in a mapping; `nil` for a missing key, a `null` value or a node that
    /// is not a mapping.
    subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = self, let value = pairs.first(where: { $0.key == key })?.value,
            value != .null
        else { return nil }
        return value
    }

    /// Parses `bytes`, with at most `maximumDepth` nested collections and `maximumNodes` nodes.
    static func parse(_ bytes: [UInt8], maximumDepth: Int = 64, maximumNodes: Int = 100_000)
        throws(ParseError) -> YAMLNode
    {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw ParseError(message: "libyaml: out of memory")
        }
        defer { yaml_parser_delete(&parser) }
        var builder = Builder(maximumDepth: maximumDepth, maximumNodes: maximumNodes)
        let result: Result<YAMLNode, ParseError> = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "not YAML"
                    return .failure(ParseError(message: "\(problem) (line \(parser.problem_mark.line + 1))"))
                }
                defer { yaml_event_delete(&event) }
                switch Result(catching: { () throws(ParseError) in try builder.apply(event) }) {
                case .success(let root?): return .success(root)
                case .success(nil): continue
                case .failure(let error):
                    return .failure(
                        ParseError(message: "\(error.message) (line \(event.start_mark.line + 1))"))
                }
            }
        }
        return try result.get()
    }
}

extension YAMLNode {
    /// Folds events into nodes, one open collection per frame.
    private struct Builder {
        /// A collection being filled; a class, so that appending never copies what came before.
        final class Frame {
            let isMapping: Bool
            var items: [YAMLNode] = []
            var pairs: [Pair] = []
            var key: String?
            var keys: Set<String> = []

            init(isMapping: Bool) { self.isMapping = isMapping }
        }

        let maximumDepth: Int
        let maximumNodes: Int
        var frames: [Frame] = []
        var nodes = 0
        var root: YAMLNode?

        /// The finished document once its end (or the stream's) is reached.
        mutating func apply(_ event: yaml_event_t) throws(ParseError) -> YAMLNode? {
            switch event.type {
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT, YAML_NO_EVENT:
                return nil
            case YAML_DOCUMENT_END_EVENT, YAML_STREAM_END_EVENT:
                return root ?? .null
            case YAML_ALIAS_EVENT:
                throw ParseError(message: "aliases (*name) are not supported")
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(
                    decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let isNull =
                    scalar.style == YAML_PLAIN_SCALAR_STYLE
                    && ["", "~", "null", "Null", "NULL"].contains(text)
                try add(isNull ? .null : .scalar(text))
            case YAML_SEQUENCE_START_EVENT:
                try open(Frame(isMapping: false))
            case YAML_MAPPING_START_EVENT:
                try open(Frame(isMapping: true))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = frames.removeLast()
                try add(frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items))
            default:
                throw ParseError(message: "an unknown YAML event")
            }
            return nil
        }

        private mutating func open(_ frame: Frame) throws(ParseError) {
            guard frames.count < maximumDepth else {
                throw ParseError(message: "nested more than \(maximumDepth) deep")
            }
            frames.append(frame)
        }

        private mutating func add(_ node: YAMLNode) throws(ParseError) {
            nodes += 1
            guard nodes <= maximumNodes else { throw ParseError(message: "more than \(maximumNodes) values") }
            guard let frame = frames.last else {
                root = node
                return
            }
            if !frame.isMapping {
                frame.items.append(node)
            } else if let key = frame.key {
                frame.pairs.append(Pair(key: key, value: node))
                frame.key = nil
            } else {
                guard case .scalar(let key) = node else {
                    throw ParseError(message: "a mapping key that is not a string")
                }
                guard frame.keys.insert(key).inserted else {
                    throw ParseError(message: "key '\(key)' appears twice in one mapping")
                }
                frame.key = key
            }
        }
    }
}
