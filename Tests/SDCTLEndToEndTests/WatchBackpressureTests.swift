import Foundation
import TestSupport
import Testing

/// Issue #23 item 5: a watch in front of a stdout nobody reads keeps its memory flat and still
/// ends at its `--timeout`.
@Suite("sdctl watch in front of a blocked stdout")
struct WatchBackpressureTests {
    /// Registers COUNT live entries (locked, as a registrar makes them), starts `sdctl watch
    /// web -o json --timeout SECONDS` with stdout a pipe it never reads, makes TARGET changes
    /// (or as many as fit before the watch ends) while sampling the watch's RSS, and prints what
    /// it saw as JSON.
    static let churn = #"""
        import fcntl, json, os, subprocess, sys, time
        home, sdctl, count, seconds, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        d = os.path.join(home, "web")
        os.makedirs(d, mode=0o700, exist_ok=True)
        held = {}
        def register(i):
            final = os.path.join(d, "i%d.instance" % i)
            tmp = os.path.join(d, ".i%d.tmp" % i)
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps({"address": "10.%d.%d.%d:80" % (i // 65536, i // 256 % 256, i % 256), "id": "i%d" % i,
                                     "metadata": {"pad": "x" * 64}, "pid": os.getpid(), "registered_at": "2026-12-03T00:00:00.000Z",
                                     "tags": []}).encode())
            os.rename(tmp, final)
            held[i] = fd
        def deregister(i):
            os.unlink(os.path.join(d, "i%d.instance" % i))
            os.close(held.pop(i))
        for i in range(count):
            register(i)
        env = dict(os.environ, SDCTL_HOME=home, NO_COLOR="1")
        start = time.monotonic()
        # stdout is a pipe that nobody reads.
        watch = subprocess.Popen([sdctl, "watch", "web", "-o", "json", "--timeout", "%gs" % seconds],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        def rss():
            try:
                for line in open("/proc/%d/status" % watch.pid):
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            except OSError:
                pass
            return 0
        # Churn until `target` changes are made or the watch has ended: on a loaded machine at
        # nice 19 a fixed time gives too few.
        peak, changes, i = 0, 0, 0
        while changes < target and watch.poll() is None:
            deregister(i % count); register(i % count)
            changes += 2; i += 1
            if i % 10 == 0:
                peak = max(peak, rss())
        peak = max(peak, rss())
        try:
            watch.wait(timeout=seconds + 15)
            exited = True
        except subprocess.TimeoutExpired:
            exited = False
            watch.kill()
        print(json.dumps({"peak_kb": peak, "changes": changes, "exited": exited, "status": watch.returncode,
                          "elapsed": time.monotonic() - start}))
        """#

    @Test(
        "1,000 instances churning at low priority, stdout never read: RSS stays under 100 MB and --timeout ends the watch"
    )
    func blockedStdout() async throws {
        try await withSDCTLHome("sdctl-watch-backpressure") { home, _ in
            // At the lowest priority (sdctl inherits it): the churn on 2 cores must not starve the
            // timing tests running beside it. 2,000 changes take about a second on an idle machine;
            // the 15 s --timeout leaves room for a loaded one (CI once made only 64 in 4 s).
            let run = try RunningProcess(
                "/usr/bin/nice",
                [
                    "-n", "19", "/usr/bin/python3", "-c", Self.churn, home.path, RunningProcess.sdctl, "1000",
                    "15", "2000",
                ],
                environment: [:])
            #expect(try await run.wait(timeout: .seconds(90)) == 0, "\(run.stderr)")
            let line = try #require(run.lines.first, "the churn script printed nothing: \(run.stderr)")
            let result = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            // Before the fix the watch was still running long after its --timeout.
            #expect(result["exited"] as? Bool == true, "\(line)")
            #expect(result["status"] as? Int == 0, "\(line)")
            #expect((result["changes"] as? Int ?? 0) > 100, "too little churn to fill the pipe: \(line)")
            #expect((result["peak_kb"] as? Int ?? .max) < 100_000, "\(line)")
        }
    }
}
