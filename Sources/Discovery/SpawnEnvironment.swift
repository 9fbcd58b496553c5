#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The environment of a child sdctl starts: this process's own, with `added` in place of any
/// variable of the same name, then `added` in its order.
package enum SpawnEnvironment {
    /// `NAME=value` entries, `strdup`ed and ending in `nil`, as `posix_spawn` takes them; the
    /// caller frees each.
    package static func entries(adding added: [(name: String, value: String)]) -> [UnsafeMutablePointer<
        CChar
    >?] {
        let names = Set(added.map(\.name))
        var entries: [UnsafeMutablePointer<CChar>?] = []
        var entry = environ
        while let pointer = entry.pointee {
            let name = String(cString: pointer).prefix { $0 != "=" }
            if !names.contains(String(name)) { entries.append(strdup(pointer)) }
            entry += 1
        }
        for (name, value) in added { entries.append(strdup("\(name)=\(value)")) }
        return entries + [nil]
    }
}
