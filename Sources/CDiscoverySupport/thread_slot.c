#include "CDiscoverySupport.h"
#include <stdatomic.h>

static atomic_uint next_slot = 0;
_Thread_local unsigned int cds_current_thread_slot = 0;

unsigned int cds_assign_thread_slot(void) {
    cds_current_thread_slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed) + 1;
    return cds_current_thread_slot;
}
