#if SDCTL_TSAN
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif

    /// `Synchronization.Mutex`'s interface over a pthread mutex, for ThreadSanitizer builds only
    /// (`-Xswiftc -DSDCTL_TSAN`, which Tests/sanitizers.sh passes).
    ///
    /// On Linux, `Mutex` waits on a futex inside the standard library, which ThreadSanitizer
    /// does not see, so it reports every contended access under a `Mutex` as a race (shown by
    /// a two-file program: four threads updating a `Mutex<[Int: Int]>`). A pthread mutex it
    /// intercepts. Each module that uses `Mutex` declares `typealias Mutex = ThreadSanitizerMutex`
    /// under the same condition (its `Internal/ThreadSanitizer.swift`), which shadows the
    /// standard library's type there; ordinary builds never see this file's contents.
    package final class ThreadSanitizerMutex<Value>: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        private var value: Value

        package init(_ value: Value) {
            self.value = value
            mutex = .allocate(capacity: 1)
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        package func withLock<Result, Failure: Error>(
            _ body: (inout Value) throws(Failure) -> Result
        ) throws(Failure) -> Result {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value)
        }
    }
#endif
