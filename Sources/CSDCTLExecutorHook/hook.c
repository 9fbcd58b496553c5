#include "CSDCTLExecutorHook.h"

// Declared in the Swift runtime's Concurrency/GlobalExecutor (a function pointer of the Swift
// calling convention); only its address is taken here.
extern void *swift_task_enqueueGlobal_hook;

void *_Nullable *_Nonnull csdctl_swift_task_enqueue_global_hook(void) {
    return &swift_task_enqueueGlobal_hook;
}
