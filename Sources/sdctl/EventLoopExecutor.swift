#if SDCTL_EVENT_LOOPS
    import CSDCTLExecutorHook
    import NIOCore
    import NIOPosix

    /// Swift Concurrency's jobs on swift-nio's event loops, as
    /// `NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`
    /// does, but in every build: that finds the runtime's hook with dlsym, and in the release
    /// build (Swift libraries linked statically) the hook is a hidden symbol that dlsym does not
    /// see, so the takeover silently did nothing there. Here the static linker resolves it
    /// (CSDCTLExecutorHook), and the tests' build takes the same path as the release's. Must
    /// run before the first task is made.
    enum EventLoopExecutor {
        /// The hook's type in the runtime: a job and the default enqueue, Swift's convention.
        private typealias EnqueueGlobalHook =
            @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

        /// Makes the singleton event loops the global executor; false if another hook is in
        /// place already.
        static func install() -> Bool {
            let hook = csdctl_swift_task_enqueue_global_hook()
            guard hook.pointee == nil else { return false }
            let enqueue: EnqueueGlobalHook = { job, _ in
                // `any()` prefers the loop it is called on: a job enqueued from a loop stays there.
                MultiThreadedEventLoopGroup.singleton.any().executor.enqueue(job)
            }
            hook.pointee = unsafeBitCast(enqueue, to: UnsafeMutableRawPointer.self)
            return true
        }

        /// Whether a task runs on an event loop: what `-v` reports, checked, not assumed.
        static func tasksRunOnEventLoops() async -> Bool {
            await Task { MultiThreadedEventLoopGroup.currentEventLoop != nil }.value
        }
    }
#endif
