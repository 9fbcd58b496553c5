#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Runs `body` on a new detached OS thread of its own: for blocking work (a probe's `poll(2)`,
/// a credential plugin's run, waiting for a child) that must not wait for a free thread of a
/// shared pool. libdispatch's global queue ran about ten such probes at once here, whatever the
/// number asked for, and under load nine credential-plugin runs of 1 s each took 20 s on it.
package func runOnNewThread(_ body: @escaping @Sendable () -> Void) {
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
