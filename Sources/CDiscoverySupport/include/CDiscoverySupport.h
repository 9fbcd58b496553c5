#ifndef C_DISCOVERY_SUPPORT_H
#define C_DISCOVERY_SUPPORT_H

extern _Thread_local unsigned int cds_current_thread_slot;
unsigned int cds_assign_thread_slot(void);

/// A small number unique to the calling thread, assigned on first use (1, 2, 3, ...).
/// Balancers use it to give each thread its own pick stripe, so that picks on different
/// threads do not contend on one lock or cache line. Inline: a thread-local load.
static inline unsigned int cds_thread_slot(void) {
    unsigned int slot = cds_current_thread_slot;
    if (__builtin_expect(slot == 0, 0)) {
        slot = cds_assign_thread_slot();
    }
    return slot;
}

#endif
