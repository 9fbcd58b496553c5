import Discovery

/// The context a `watch --template` template is rendered with (docs/templates.md):
///
/// - `time`: when it was rendered (UTC, RFC 3339 with milliseconds);
/// - `count`: the instances of every target together;
/// - `targets`: one object per TARGET, in the order given, with `target` (as given), `count`
///   and `instances`;
/// - `instances`: every target's instances together (what a one-target template iterates).
///
/// An instance has `address`, `host`, `port` (a number; absent when the address has none),
/// `id`, `tags`, `metadata` (a list of `key` and `value`, sorted by key), `meta` (the same as an
/// object: `{{meta.version}}`), and `weight`, `zone` and `priority` when set. Instances are
/// sorted by address, then id.
enum TemplateContext {
    static func make(_ groups: [(label: String, set: [Instance])], time: String) -> TemplateValue {
        var all: [TemplateValue] = []
        var targets: [TemplateValue] = []
        for group in groups {
            let instances = group.set.sorted().map(value)
            all += instances
            targets.append(
                .object([
                    "target": .string(group.label), "count": .number(instances.count),
                    "instances": .list(instances),
                ]))
        }
        return .object([
            "time": .string(time), "count": .number(all.count), "targets": .list(targets),
            "instances": .list(all),
        ])
    }

    static func value(_ instance: Instance) -> TemplateValue {
        var members: [String: TemplateValue] = [
            "address": .string(instance.address),
            "tags": .list(instance.tags.map(TemplateValue.string)),
            "metadata": .list(
                instance.metadata.sorted { $0.key < $1.key }.map {
                    .object(["key": .string($0.key), "value": .string($0.value)])
                }),
            "meta": .object(instance.metadata.mapValues(TemplateValue.string)),
        ]
        if let address = try? HostPort(parsing: instance.address) {
            members["host"] = .string(address.host)
            members["port"] = .number(Int(address.port))
        } else {
            members["host"] = .string(instance.address)
        }
        if let id = instance.id { members["id"] = .string(id) }
        if let weight = instance.weight { members["weight"] = .number(weight) }
        if let zone = instance.zone { members["zone"] = .string(zone) }
        if let priority = instance.priority { members["priority"] = .number(priority) }
        return .object(members)
    }
}
