import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy on a free loopback port in front of one server port (a small Python process),
/// for cutting a client's connections while the server keeps running: ``cutConnections()``
/// closes every connection it carries; new ones are accepted as before.
public final class TCPProxy: Sendable {
    public let port: Int
    private let process: RunningProcess

    private static let script = #"""
        import signal, socket, sys, threading
        listen_port, target = int(sys.argv[1]), int(sys.argv[2])
        lock = threading.Lock()
        carried = []

        def pump(source, sink):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    sink.sendall(data)
            except OSError:
                pass
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def cut(*_):
            with lock:
                for s in carried:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                carried.clear()
            print("cut", flush=True)

        signal.signal(signal.SIGUSR1, cut)
        # The test process may have started us with signals blocked.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", listen_port))
        server.listen(64)
        server.settimeout(0.05)  # the main thread runs Python often, so SIGUSR1's handler does too
        while True:
            try:
                client, _ = server.accept()
            except socket.timeout:
                continue
            client.settimeout(None)
            try:
                upstream = socket.create_connection(("127.0.0.1", target))
            except OSError:
                client.close()
                continue
            with lock:
                carried.extend([client, upstream])
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        """#

    /// Starts the proxy to `127.0.0.1:targetPort` and waits until it listens.
    public init(to targetPort: Int) async throws {
        port = try FreePorts.take(1)[0]
        process = try RunningProcess(
            "/usr/bin/python3", ["-c", Self.script, "\(port)", "\(targetPort)"], environment: [:])
        let port = self.port
        try await eventually(.seconds(10), "the proxy to listen") { TCPConnections.canConnect(toPort: port) }
    }

    /// Closes every connection the proxy carries now, and returns once it has.
    public func cutConnections() async throws {
        let before = process.lines.count { $0 == "cut" }
        process.signal(SIGUSR1)
        try await eventually(.seconds(10), "the proxy to cut its connections") { [process] in
            process.lines.count { $0 == "cut" } > before
        }
    }

    public func stop() { process.signal(SIGKILL) }

    deinit { stop() }
}
