#if SDCTL_TSAN
    import Discovery

    /// ThreadSanitizer sees through this lock, not through Synchronization.Mutex's futex
    /// (Discovery's ThreadSanitizerMutex.swift says why); ordinary builds use Mutex.
    typealias Mutex = ThreadSanitizerMutex
#endif
