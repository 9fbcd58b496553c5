import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Tells when nobody reads standard output any more, as `sdctl watch web | head -1` does once
/// `head` has its line.
///
/// SIGPIPE is ignored (its default action would kill the process without releasing anything),
/// so a vanished reader shows up in two ways: a write that fails with EPIPE, and, for a pipe or
/// socket, `poll(2)` reporting an error or hang-up on it even when nothing is being written (a
/// quiet `watch` must notice too). Either ends the wait of ``gone()``.
final class StandardOutputReader: Sendable {
    private struct State: Sendable {
        var gone = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// The poll thread's wake-up pipe, until that thread has closed it (so a wake-up write
        /// never meets a closed read end).
        var wakeup: (read: Int32, write: Int32)?
    }

    private let state = Mutex(State())

    /// Watches `descriptor` from a thread of its own if it is a pipe or a socket.
    init(descriptor: Int32 = 1) {
        var info = stat()
        let kind = fstat(descriptor, &info) == 0 ? info.st_mode & S_IFMT : 0
        guard kind == S_IFIFO || kind == S_IFSOCK else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        let wakeup = (read: fds[0], write: fds[1])
        state.withLock { $0.wakeup = wakeup }
        DispatchQueue(label: "sdctl.stdout-reader").async { [self] in
            var watched = [
                pollfd(fd: descriptor, events: 0, revents: 0),
                pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0),
            ]
            while true {
                let ready = poll(&watched, 2, -1)
                if ready < 0, errno == EINTR { continue }
                if ready > 0, watched[0].revents & Int16(POLLERR | POLLHUP) != 0 { markGone() }
                break
            }
            state.withLock { state in
                state.wakeup = nil
                close(wakeup.read)
                close(wakeup.write)
            }
        }
    }

    /// Stops the poll thread. Idempotent.
    func stopWatching() {
        state.withLock { state in
            guard let wakeup = state.wakeup else { return }
            var byte: UInt8 = 1
            _ = write(wakeup.write, &byte, 1)
        }
    }

    /// Records that the reader went away (a write failed with EPIPE).
    func markGone() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.gone = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }

    var isGone: Bool { state.withLock { $0.gone } }

    /// Waits until the reader is gone (true) or the waiting task is cancelled (false).
    func gone() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready = state.withLock { state -> Bool? in
                    if state.gone { return true }
                    if Task.isCancelled { return false }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: false)
        }
    }
}
