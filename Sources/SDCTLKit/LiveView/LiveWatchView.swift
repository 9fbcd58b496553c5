import Discovery

/// What `sdctl watch` shows on a terminal: every instance with its age, tags and metadata and
/// how often it flapped, the ones that just left, and a header with the targets, the churn
/// (joins and leaves in the last minute) and the last error. Pure state: it is told the sets
/// and the time, and renders lines; ``LiveTerminal`` puts them on the screen.
struct LiveWatchView {
    /// How long a join stays green and a departed instance stays listed, in red.
    static let highlight: Double = 10
    /// The window churn is counted over.
    static let churnWindow: Double = 60

    struct Key: Hashable {
        var target: Int
        var address: String
    }

    struct Row {
        var instance: Instance
        var firstSeen: Double
        /// When it (re)joined, for the highlight; nil for those in the first set.
        var joinedAt: Double?
    }

    struct Departed {
        var instance: Instance
        var leftAt: Double
    }

    let targets: [(label: String, backend: String)]
    private(set) var rows: [Key: Row] = [:]
    private(set) var departed: [Key: Departed] = [:]
    /// Times each instance left and came back.
    private(set) var flaps: [Key: Int] = [:]
    private var everLeft: Set<Key> = []
    private var joins: [Double] = []
    private var leaves: [Double] = []
    private var answered: Set<Int> = []
    private(set) var lastError: (target: Int, message: String, at: Double)?
    var handlerStatus: String?
    /// How current each target's set is, and the system clock they are measured against.
    var freshness: [InstanceFreshness?] = []
    var wallClock: Duration = .zero

    init(targets: [(label: String, backend: String)]) {
        self.targets = targets
    }

    /// Takes in target `index`'s new set at time `now` (seconds on a monotonic clock).
    mutating func apply(_ set: [Instance], target index: Int, now: Double) {
        let first = answered.insert(index).inserted
        var current = Set<Key>()
        for instance in set {
            let key = Key(target: index, address: instance.address)
            current.insert(key)
            if var row = rows[key] {
                row.instance = instance
                rows[key] = row
                continue
            }
            rows[key] = Row(instance: instance, firstSeen: now, joinedAt: first ? nil : now)
            departed[key] = nil
            if !first { joins.append(now) }
            if everLeft.contains(key) { flaps[key, default: 0] += 1 }
        }
        for (key, row) in rows where key.target == index && !current.contains(key) {
            rows[key] = nil
            departed[key] = Departed(instance: row.instance, leftAt: now)
            everLeft.insert(key)
            leaves.append(now)
        }
        if lastError?.target == index { lastError = nil }
        prune(now: now)
    }

    mutating func fail(_ message: String, target index: Int, now: Double) {
        lastError = (index, message, now)
    }

    private mutating func prune(now: Double) {
        joins.removeAll { now - $0 > Self.churnWindow }
        leaves.removeAll { now - $0 > Self.churnWindow }
        departed = departed.filter { now - $0.value.leftAt <= Self.highlight }
    }

    /// The screen: at most `height` lines of at most `width` characters; `paint` colours text
    /// (the identity without colour).
    mutating func render(width: Int, height: Int, now: Double, paint: (String, String) -> String) -> [String]
    {
        prune(now: now)
        let several = targets.count > 1
        let count = rows.count
        var header = "sdctl watch  "
        header += targets.map { "\($0.label) (\($0.backend))" }.joined(separator: ", ")
        header += "  \(count) instance\(count == 1 ? "" : "s")"
        header += "  churn/min +\(joins.count) -\(leaves.count)"
        var lines = [clip(header, width)]
        if let lastError {
            let age = Self.age(now - lastError.at)
            let origin = several ? "\(targets[lastError.target].label): " : ""
            lines.append(paint(clip("last error (\(age) ago): \(origin)\(lastError.message)", width), "31"))
        } else if answered.count < targets.count {
            lines.append(clip("waiting for the first answer…", width))
        } else {
            lines.append(clip("last error: none", width))
        }
        if let confirmed = confirmedLine(several: several) {
            lines.append(
                confirmed.stale ? paint(clip(confirmed.text, width), "31") : clip(confirmed.text, width))
        }
        if let handlerStatus { lines.append(clip("exec: \(handlerStatus)", width)) }
        lines.append("")

        var entries: [(key: Key, row: Row?, gone: Departed?)] = rows.map { ($0.key, $0.value, nil) }
        entries += departed.map { ($0.key, nil, $0.value) }
        entries.sort { ($0.key.target, $0.key.address) < ($1.key.target, $1.key.address) }
        let targetWidth = several ? max(6, targets.map(\.label.count).max() ?? 0) : 0
        let addressWidth = max(8, entries.map(\.key.address.count).max() ?? 0)
        var title = several ? "TARGET".padding(targetWidth) + "  " : ""
        title +=
            "  " + "INSTANCE".padding(addressWidth) + "  " + "AGE".padding(8) + "  FLAPS  TAGS / METADATA"
        lines.append(clip(title, width))
        // Below the rows: the quit line, and a line saying how many did not fit, if any.
        var room = max(0, height - lines.count - 1)
        if entries.count > room { room = max(0, room - 1) }
        for entry in entries.prefix(room) {
            let instance = entry.row?.instance ?? entry.gone!.instance
            var line = several ? targets[entry.key.target].label.padding(targetWidth) + "  " : ""
            let mark: String
            let age: String
            if let gone = entry.gone {
                mark = "-"
                age = "left \(Self.age(now - gone.leftAt))"
            } else {
                let row = entry.row!
                mark = row.joinedAt.map { now - $0 <= Self.highlight } == true ? "+" : " "
                age = Self.age(now - row.firstSeen)
            }
            line += "\(mark) " + instance.address.padding(addressWidth) + "  " + age.padding(8) + "  "
            line += String(flaps[entry.key, default: 0]).padding(5) + "  " + Self.describe(instance)
            let clipped = clip(line, width)
            lines.append(mark == "+" ? paint(clipped, "32") : mark == "-" ? paint(clipped, "31") : clipped)
        }
        if entries.count > room {
            lines.append(clip("… \(entries.count - room) more (the terminal is too small)", width))
        }
        while lines.count < height - 1 { lines.append("") }
        lines.append(clip("q or Ctrl-C: quit", width))
        return Array(lines.prefix(height))
    }

    /// `blue green  zone=a`
    /// `confirmed: now`, or per target how long ago its backend last stood behind its set and
    /// whether it is kept through an error (stale); nil before any set.
    func confirmedLine(several: Bool) -> (text: String, stale: Bool)? {
        var parts: [String] = []
        var anyStale = false
        for (index, freshness) in freshness.enumerated() {
            guard let freshness, index < targets.count else { continue }
            let age = Double(freshness.age(now: wallClock).components.seconds)
            var part = several ? "\(targets[index].label) " : ""
            part += age < 1 ? "now" : "\(Self.age(age)) ago"
            if freshness.isStale {
                part += " (STALE: kept through an error)"
                anyStale = true
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { return nil }
        return ("confirmed: " + parts.joined(separator: ", "), anyStale)
    }

    static func describe(_ instance: Instance) -> String {
        var parts = instance.tags
        parts += instance.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return parts.joined(separator: " ")
    }

    /// `4s`, `2m03s`, `1h02m`
    static func age(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(String(whole % 60).leftPadding(2).replacingSpaces)s" }
        return "\(whole / 3600)h\(String(whole % 3600 / 60).leftPadding(2).replacingSpaces)m"
    }

    /// `text` with what came from servers and registrants made terminal-safe, cut to `width`.
    private func clip(_ text: String, _ width: Int) -> String {
        let text = text.terminalSafe
        return text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }
}

extension String {
    /// `" 3"` → `"03"`: for zero-padded clock fields.
    fileprivate var replacingSpaces: String { String(map { $0 == " " ? "0" : $0 }) }
}
