// One etcd call at a time with sdctl's client, the loops of etcd-calls-go (etcd's own Go
// client) in the same order: Range of one key, Put, Put and Delete of a key that exists (only
// the Delete timed), and a watch event (Put, then the watcher of its prefix has it). Prints the
// p50 and p99 of each in microseconds and the process's CPU time (user and system, getrusage)
// per call, as etcd-calls-go does. Usage: EtcdCalls HOST:PORT [CALLS]
import Discovery
import EtcdDiscovery

#if canImport(Glibc)
    import Glibc
#endif

/// The process's user and system time so far, in microseconds.
func cpuMicroseconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

nonisolated(unsafe) var lastCPU = cpuMicroseconds()

func report(_ name: String, _ samples: [Duration]) {
    let now = cpuMicroseconds()
    let used = now - lastCPU
    lastCPU = now
    let sorted = samples.sorted()
    func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }
    let line =
        "etcd-swift \(name + String(repeating: " ", count: max(0, 10 - name.count))) p50 \(format(microseconds(sorted[sorted.count / 2]))) us"
        + "   p99 \(format(microseconds(sorted[sorted.count * 99 / 100]))) us"
        + "   cpu \(format(used / Double(samples.count), width: 6)) us/call   (\(samples.count) calls)"
    print(line)
}

func format(_ value: Double, width: Int = 8) -> String {
    let text = String(Double(Int(value * 10)) / 10)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

func run() async throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 2, let endpoint = try? HostPort(parsing: arguments[1]) else {
        print("usage: EtcdCalls HOST:PORT [CALLS]")
        exit(2)
    }
    let count = arguments.count > 2 ? Int(arguments[2]) ?? 2_000 : 2_000
    let etcd = try EtcdClient(.init(endpoints: [endpoint]))
    let key = Array("/bench-swift/calls/key".utf8)
    let value = Array("127.0.0.1:8080".utf8)
    let clock = ContinuousClock()

    func timed(_ body: () async throws -> Void) async throws -> [Duration] {
        var samples: [Duration] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let started = clock.now
            try await body()
            samples.append(clock.now - started)
        }
        return samples
    }

    try await etcd.put(key, value)
    lastCPU = cpuMicroseconds()
    report("Range", try await timed { _ = try await etcd.range(prefix: key) })
    report("Put", try await timed { try await etcd.put(key, value) })
    var deletes: [Duration] = []
    for _ in 0..<count {
        try await etcd.put(key, value)
        let started = clock.now
        try await etcd.delete(key)
        deletes.append(clock.now - started)
    }
    report("Put+Delete", deletes)  // the CPU figure counts the Put before each Delete too

    let prefix = Array("/bench-swift/watch/".utf8)
    let (events, seen) = AsyncStream.makeStream(of: Void.self)
    let watch = Task {
        try await etcd.watch(prefix: prefix, startRevision: 0) { _ in
            seen.yield()
            return true
        }
    }
    var arrivals = events.makeAsyncIterator()
    _ = await arrivals.next()  // created
    lastCPU = cpuMicroseconds()
    report(
        "WatchEvent",
        try await timed {
            try await etcd.put(prefix + Array("key".utf8), value)
            _ = await arrivals.next()
        })
    watch.cancel()
    etcd.close()
}

try await run()
