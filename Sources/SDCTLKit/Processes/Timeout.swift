/// Runs `body` with an optional time bound; `nil` means it ran out of time (the body is
/// cancelled and awaited).
func withTimeout<Result: Sendable>(
    _ timeout: Duration?,
    _ body: @escaping @Sendable () async -> Result
) async -> Result? {
    guard let timeout else { return await body() }
    return await withTaskGroup(of: Result?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next()!
        group.cancelAll()
        return first
    }
}

/// Monotonic nanoseconds, for measurements.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
