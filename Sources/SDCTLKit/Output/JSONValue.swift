import Discovery

/// A small JSON value with deterministic key order, rendered without Foundation.
enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered == rhs.rendered }

    var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .string(let text): Self.quote(text, into: &out)
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? String(value) : "null"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }

    static func quote(_ text: String, into out: inout String) {
        JSONString.append(text, to: &out)
    }

    /// `instances` as a JSON array, each rendered and let go before the next, so that no tree
    /// of the whole array is ever held; `flush`, when given, is handed `out` whenever it has
    /// grown past 64 kB (to write it and empty it).
    static func render(
        _ instances: [Instance], into out: inout String, flushing flush: ((inout String) -> Void)? = nil
    ) {
        out += "["
        for (index, instance) in instances.enumerated() {
            if index > 0 { out += "," }
            JSONValue(instance).render(into: &out)
            if let flush, out.utf8.count >= 1 << 16 { flush(&out) }
        }
        out += "]"
    }

    /// An instance as `resolve -o json` and `watch -o json` print it.
    init(_ instance: Instance) {
        var members: [(String, JSONValue)] = [("address", .string(instance.address))]
        if let id = instance.id { members.append(("id", .string(id))) }
        members.append(("tags", .array(instance.tags.map(JSONValue.string))))
        members.append(
            (
                "metadata",
                .object(instance.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
            ))
        if let weight = instance.weight { members.append(("weight", .int(weight))) }
        if let priority = instance.priority { members.append(("priority", .int(priority))) }
        if let zone = instance.zone { members.append(("zone", .string(zone))) }
        self = .object(members)
    }
}
