#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The `posix_spawnattr_t` every child sdctl starts gets: default signal dispositions and an
/// empty signal mask, whatever this process had (sdctl ignores or blocks signals that a child
/// must see), and optionally a process group of its own.
package enum SpawnAttributes {
    /// Initializes `attributes`; the caller destroys them.
    package static func initialize(_ attributes: inout posix_spawnattr_t, ownProcessGroup: Bool) {
        posix_spawnattr_init(&attributes)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if ownProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
    }
}
