#ifndef C_DISCOVERY_SUPPORT_H
#define C_DISCOVERY_SUPPORT_H

/// A small number unique to the calling thread, assigned on first use (1, 2, 3, ...).
/// Balancers use it to give each thread its own pick stripe, so that picks on different
/// threads do not contend on one lock or cache line.
unsigned int cds_thread_slot(void);

#endif
