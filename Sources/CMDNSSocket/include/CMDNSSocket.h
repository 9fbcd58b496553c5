#ifndef CMDNS_SOCKET_H
#define CMDNS_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The sockets of multicast DNS (RFC 6762) for DNSDiscovery, in C because the socket address
/// structures' members reach Swift only through whichever C module includes netinet/in.h first.
/// Every function returns -1 with errno set on failure unless it says otherwise.

/// Where a datagram came from: an opaque socket address.
typedef struct {
    unsigned char storage[128];
} sdctl_mdns_peer;

/// A non-blocking UDP socket of `family` (AF_INET or AF_INET6) bound to `port` on every
/// address beside other mDNS stacks (SO_REUSEADDR, SO_REUSEPORT), multicast hop limit 255,
/// multicast loop on, IPv6 only for AF_INET6, and the arrival interface reported (IP_PKTINFO).
int sdctl_mdns_open(int family, uint16_t port);

/// Joins 224.0.0.251 or ff02::fb on the interface with index `interface`.
int sdctl_mdns_join(int socket, int family, unsigned int interface);

/// Sends to the group of `family` on `interface`, at `port`.
ssize_t sdctl_mdns_send_group(
    int socket, int family, unsigned int interface, uint16_t port, const void *bytes, size_t length);

/// Sends to `peer`.
ssize_t sdctl_mdns_send_to(int socket, const sdctl_mdns_peer *peer, const void *bytes, size_t length);

/// Receives one datagram into `buffer`; returns its full length (MSG_TRUNC), which is larger
/// than `capacity` when it was cut. `interface` is the index of the interface it arrived on
/// (0 when the kernel did not say).
ssize_t sdctl_mdns_receive(
    int socket, void *buffer, size_t capacity, sdctl_mdns_peer *peer, unsigned int *interface);

/// The peer's port; 0 for an address of another family.
uint16_t sdctl_mdns_peer_port(const sdctl_mdns_peer *peer);

/// Whether the peer is IPv6.
int sdctl_mdns_peer_is_ipv6(const sdctl_mdns_peer *peer);

/// The peer's address as text (`192.0.2.1`, `fe80::1%2`) into `text`; 0 on success.
int sdctl_mdns_peer_text(const sdctl_mdns_peer *peer, char *text, size_t capacity);

/// Parses an IPv4 or IPv6 address into `bytes` (network order); returns 4, 16 or 0 (not one).
int sdctl_mdns_parse_address(const char *text, unsigned char bytes[16]);

/// A non-blocking, close-on-exec eventfd.
int sdctl_mdns_eventfd(void);

#endif
