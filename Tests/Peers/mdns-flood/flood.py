#!/usr/bin/env python3
"""A hostile mDNS peer for the tests: multicasts COUNT announcements of distinct instances of
_http._tcp.local (PTR, SRV, TXT and A each, TTL seconds) from port 5353 out of the interface
with ADDRESS, as fast as it can, then prints "done" and exits.

    python3 flood.py COUNT TTL ADDRESS
"""
import socket
import struct
import sys


def name(text):
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\0"


def record(owner, kind, ttl, data, flush=False):
    return name(owner) + struct.pack(">HHIH", kind, 0x8001 if flush else 1, ttl, len(data)) + data


def announcement(index, ttl):
    instance = "flood-%d._http._tcp.local" % index
    host = "flood-%d.local" % index
    records = [
        record("_http._tcp.local", 12, ttl, name(instance)),
        record(instance, 33, ttl, struct.pack(">HHH", 0, 0, 8080) + name(host), flush=True),
        record(instance, 16, ttl, b"\x07path=/x", flush=True),
        record(host, 1, ttl, bytes([10, 99, 1 + index // 65536 % 200, index // 256 % 256]), flush=True),
    ]
    return struct.pack(">HHHHHH", 0, 0x8400, 0, len(records), 0, 0) + b"".join(records)


def main():
    count, ttl, address = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    sender.bind(("0.0.0.0", 5353))
    for index in range(count):
        sender.sendto(announcement(index, ttl), ("224.0.0.251", 5353))
    print("done", flush=True)


if __name__ == "__main__":
    main()
