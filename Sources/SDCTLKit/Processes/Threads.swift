#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs `body(index)` on `count` new OS threads at once and waits for all of them.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Work: @unchecked Sendable {
        // Immutable after init; handed to exactly one thread.
        let index: Int
        let body: @Sendable (Int) -> Void
        init(_ index: Int, _ body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        var thread = pthread_t()
        let work = Unmanaged.passRetained(Work(index, body)).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let work = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
                work.body(work.index)
                return nil
            }, work)
        precondition(result == 0, "pthread_create failed")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Runs `body` on a new detached OS thread of its own: for blocking work (a probe's `poll(2)`)
/// that must not wait for a free thread of a shared pool. libdispatch's global queue ran about
/// ten such probes at once here, whatever the number asked for.
func runOnNewThread(_ body: @escaping @Sendable () -> Void) {
    final class Work: @unchecked Sendable {
        // Immutable after init; handed to exactly one thread.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    // Allocated, not `pthread_attr_t()`: that zero initializer is imported into whichever C
    // module includes pthread.h first (CNIOLinux in a full build), which a file-only build lacks.
    let attributes = UnsafeMutablePointer<pthread_attr_t>.allocate(capacity: 1)
    pthread_attr_init(attributes)
    defer {
        pthread_attr_destroy(attributes)
        attributes.deallocate()
    }
    pthread_attr_setdetachstate(attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let work = Unmanaged.passRetained(Work(body)).toOpaque()
    let result = pthread_create(
        &thread, attributes,
        { raw in
            Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, work)
    if result != 0 {
        // No thread to be had: run it here rather than lose it.
        Unmanaged<Work>.fromOpaque(work).takeRetainedValue().body()
    }
}
