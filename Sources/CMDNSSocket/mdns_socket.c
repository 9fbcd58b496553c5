#define _GNU_SOURCE
#include "CMDNSSocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(sdctl_mdns_peer) >= sizeof(struct sockaddr_storage), "peer holds any address");

int sdctl_mdns_open(int family, uint16_t port) {
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1, hops = 255;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        goto fail;
    if (family == AF_INET) {
        unsigned char ttl = 255, loop = 1;
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0
            || setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0
            || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0)
            goto fail;
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
        if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) goto fail;
    } else {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0
            || setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0
            || setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) != 0
            || setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0)
            goto fail;
        struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) goto fail;
    }
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int sdctl_mdns_join(int fd, int family, unsigned int interface) {
    if (family == AF_INET) {
        struct ip_mreqn request = {.imr_ifindex = (int)interface};
        request.imr_multiaddr.s_addr = htonl(0xE00000FB);
        return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof request);
    }
    struct ipv6_mreq request = {.ipv6mr_interface = interface};
    inet_pton(AF_INET6, "ff02::fb", &request.ipv6mr_multiaddr);
    return setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &request, sizeof request);
}

ssize_t sdctl_mdns_send_group(
    int fd, int family, unsigned int interface, uint16_t port, const void *bytes, size_t length) {
    if (family == AF_INET) {
        struct ip_mreqn request = {.imr_ifindex = (int)interface};
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &request, sizeof request) != 0) return -1;
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
        address.sin_addr.s_addr = htonl(0xE00000FB);
        return sendto(fd, bytes, length, MSG_NOSIGNAL, (struct sockaddr *)&address, sizeof address);
    }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &interface, sizeof interface) != 0) return -1;
    struct sockaddr_in6 address = {
        .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_scope_id = interface};
    inet_pton(AF_INET6, "ff02::fb", &address.sin6_addr);
    return sendto(fd, bytes, length, MSG_NOSIGNAL, (struct sockaddr *)&address, sizeof address);
}

static socklen_t peer_length(const sdctl_mdns_peer *peer) {
    const struct sockaddr *address = (const struct sockaddr *)peer->storage;
    return address->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

ssize_t sdctl_mdns_send_to(int fd, const sdctl_mdns_peer *peer, const void *bytes, size_t length) {
    return sendto(fd, bytes, length, MSG_NOSIGNAL, (const struct sockaddr *)peer->storage, peer_length(peer));
}

ssize_t sdctl_mdns_receive(
    int fd, void *buffer, size_t capacity, sdctl_mdns_peer *peer, unsigned int *interface) {
    memset(peer, 0, sizeof *peer);
    *interface = 0;
    struct iovec vector = {.iov_base = buffer, .iov_len = capacity};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } control;
    struct msghdr message = {
        .msg_name = peer->storage,
        .msg_namelen = sizeof peer->storage,
        .msg_iov = &vector,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof control.bytes,
    };
    ssize_t length = recvmsg(fd, &message, MSG_TRUNC);
    if (length < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == IPPROTO_IP && header->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(header), sizeof info);
            *interface = (unsigned int)info.ipi_ifindex;
        } else if (header->cmsg_level == IPPROTO_IPV6 && header->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(header), sizeof info);
            *interface = info.ipi6_ifindex;
        }
    }
    return length;
}

uint16_t sdctl_mdns_peer_port(const sdctl_mdns_peer *peer) {
    const struct sockaddr *address = (const struct sockaddr *)peer->storage;
    if (address->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)peer->storage)->sin_port);
    if (address->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)peer->storage)->sin6_port);
    return 0;
}

int sdctl_mdns_peer_is_ipv6(const sdctl_mdns_peer *peer) {
    return ((const struct sockaddr *)peer->storage)->sa_family == AF_INET6;
}

int sdctl_mdns_peer_text(const sdctl_mdns_peer *peer, char *text, size_t capacity) {
    return getnameinfo(
        (const struct sockaddr *)peer->storage, peer_length(peer), text, (socklen_t)capacity, NULL, 0,
        NI_NUMERICHOST);
}

int sdctl_mdns_parse_address(const char *text, unsigned char bytes[16]) {
    if (inet_pton(AF_INET, text, bytes) == 1) return 4;
    if (inet_pton(AF_INET6, text, bytes) == 1) return 16;
    return 0;
}

int sdctl_mdns_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
