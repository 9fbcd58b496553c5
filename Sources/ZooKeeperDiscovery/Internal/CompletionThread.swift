#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Knows the C client's completion threads: every trampoline marks the thread it runs on, and
/// that thread never runs anything but the library's callbacks. Code that must not block there
/// (closing a handle joins that thread; the session queue may be doing just that) asks
/// ``isCurrent`` first.
enum CompletionThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create")
        return key
    }()

    /// Marks the calling thread; a thread-local read after its first call.
    static func mark() {
        if pthread_getspecific(key) == nil {
            pthread_setspecific(key, UnsafeMutableRawPointer(bitPattern: 1))
        }
    }

    static var isCurrent: Bool { pthread_getspecific(key) != nil }
}
