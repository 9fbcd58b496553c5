import CZooKeeper
import Synchronization

/// A one-shot completion, passed to the C client as its `data` pointer (retained once; the
/// trampoline takes that retain back).
final class CompletionBox<Value>: @unchecked Sendable {
    // @unchecked: `resume` is set once in init and called once, from the completion thread.
    let resume: (Int32, Value) -> Void
    init(_ resume: @escaping (Int32, Value) -> Void) { self.resume = resume }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    static func take(_ pointer: UnsafeRawPointer?) -> CompletionBox {
        Unmanaged<CompletionBox>.fromOpaque(pointer!).takeRetainedValue()
    }

    /// Gives back the retain when the C call failed and will never call the completion.
    static func drop(_ pointer: UnsafeMutableRawPointer) {
        Unmanaged<CompletionBox>.fromOpaque(pointer).release()
    }
}

/// A one-shot node watch. Once handed to the C client (``retainForLibrary()``), the library
/// holds one retain on it until it fires for a node event, the request fails, or its handle is
/// closed; exactly one of those claims it and gives the retain back. A box that never reached
/// the library has no such retain, and giving it up releases nothing.
final class WatchBox: Sendable {
    let onFire: @Sendable () -> Void
    let handleNumber: Int
    private let claimed = Atomic<Bool>(false)
    private let retainedForLibrary = Atomic<Bool>(false)

    init(handleNumber: Int, onFire: @escaping @Sendable () -> Void) {
        self.handleNumber = handleNumber
        self.onFire = onFire
    }

    /// The context pointer for a watch request, carrying one retain for the library.
    func retainForLibrary() -> UnsafeMutableRawPointer {
        retainedForLibrary.store(true, ordering: .releasing)
        return Unmanaged.passRetained(self).toOpaque()
    }

    /// True for the first caller only.
    func claim() -> Bool {
        !claimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Claims the box without firing it (its request failed or was never sent, or its handle
    /// closed) and gives back the library's retain if it had one.
    func abandon() {
        guard claim(), retainedForLibrary.load(ordering: .acquiring) else { return }
        Unmanaged.passUnretained(self).release()
    }
}

enum Trampolines {
    static let string: string_completion_t = { rc, value, data in
        CompletionThread.mark()
        CompletionBox<String?>.take(data).resume(rc, value.map { String(cString: $0) })
    }

    static let void: void_completion_t = { rc, data in
        CompletionThread.mark()
        CompletionBox<Void>.take(data).resume(rc, ())
    }

    static let stat: stat_completion_t = { rc, _, data in
        CompletionThread.mark()
        CompletionBox<Void>.take(data).resume(rc, ())
    }

    static let data: data_completion_t = { rc, value, length, _, data in
        CompletionThread.mark()
        var bytes: [UInt8] = []
        if let value, length > 0 {
            bytes = Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
        }
        CompletionBox<[UInt8]>.take(data).resume(rc, bytes)
    }

    static let children: strings_stat_completion_t = { rc, strings, _, data in
        CompletionThread.mark()
        var names: [String] = []
        if let strings {
            names.reserveCapacity(Int(strings.pointee.count))
            for index in 0..<Int(strings.pointee.count) {
                if let name = strings.pointee.data[index] { names.append(String(cString: name)) }
            }
        }
        CompletionBox<[String]>.take(data).resume(rc, names)
    }

    /// Node watches: session events go to every watcher without consuming it, so they are
    /// ignored here; anything else fires the watch once.
    static let watch: watcher_fn = { _, type, _, _, context in
        CompletionThread.mark()
        guard let context, type != ZOO_SESSION_EVENT else { return }
        let box = Unmanaged<WatchBox>.fromOpaque(context).takeUnretainedValue()
        guard box.claim() else { return }
        Unmanaged<WatchBox>.fromOpaque(context).release()
        box.onFire()
    }

    /// The session watcher given to `zookeeper_init`; its context is a retained
    /// ``ZooKeeperClient/SessionContext``.
    static let session: watcher_fn = { handle, type, state, _, context in
        CompletionThread.mark()
        guard let handle, let context, type == ZOO_SESSION_EVENT else { return }
        let session = Unmanaged<ZooKeeperClient.SessionContext>.fromOpaque(context).takeUnretainedValue()
        session.client?.sessionStateChanged(state, handleNumber: session.handleNumber, handle: handle)
    }
}
