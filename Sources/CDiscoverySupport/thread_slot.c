#include "CDiscoverySupport.h"
#include <stdatomic.h>

static atomic_uint next_slot = 0;
static _Thread_local unsigned int slot = 0;

unsigned int cds_thread_slot(void) {
    if (slot == 0) {
        slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed) + 1;
    }
    return slot;
}
