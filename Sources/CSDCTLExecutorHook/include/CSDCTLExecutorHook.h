#ifndef C_SDCTL_EXECUTOR_HOOK_H
#define C_SDCTL_EXECUTOR_HOOK_H

/// The address of Swift Concurrency's `swift_task_enqueueGlobal_hook`, which swift-nio's
/// takeover finds with dlsym: in a binary with the Swift libraries linked statically the
/// symbol is hidden (libswift_Concurrency.a is built with hidden visibility), so dlsym cannot
/// see it, but the static linker resolves a reference to it. sdctl only (main.swift).
void *_Nullable *_Nonnull csdctl_swift_task_enqueue_global_hook(void);

#endif
