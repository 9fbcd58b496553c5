#!/usr/bin/env python3
"""mDNS propagation across a link (issue #31): `sdctl register mdns://...` in one network
namespace, `sdctl watch -o json` in the other, joined by a veth pair this script makes (root)
and removes.

    sudo python3 Tests/Benchmarks/mdns-link.py [--sdctl PATH] [--rounds 30]

Per round: from the registrar printing its id (the first announcement is out) to the watcher's
line with the instance, and from SIGTERM (the goodbye) to the watcher's line without it (one
second by RFC 6762 section 10.1). Both ends are separate processes read through pipes, so a
few milliseconds is this measurement's resolution; `sdctl bench propagation mdns://` times the
announcement in one process. docs/benchmarks.md ("Multicast DNS") keeps a run.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = "mdns://_bench._tcp.local"


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def make_link(prefix):
    a, b = prefix + "-a", prefix + "-b"
    ip("netns", "add", a)
    ip("netns", "add", b)
    ip("link", "add", "mdns0", "netns", a, "type", "veth", "peer", "name", "mdns0", "netns", b)
    for namespace, address in ((a, "10.99.0.1/24"), (b, "10.99.0.2/24")):
        ip("-n", namespace, "link", "set", "lo", "up")
        ip("-n", namespace, "link", "set", "mdns0", "up")
        ip("-n", namespace, "addr", "add", address, "dev", "mdns0")
    return a, b


class Watcher:
    """The latest set `sdctl watch -o json` printed, and when it was read."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.latest = None
        self.condition = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            now = time.monotonic()
            try:
                instances = json.loads(line).get("instances")
            except ValueError:
                continue
            if instances is None:
                continue
            with self.condition:
                self.latest = ({entry["address"] for entry in instances}, now)
                self.condition.notify_all()

    def wait(self, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        with self.condition:
            while self.latest is None or not predicate(self.latest[0]):
                left = deadline - time.monotonic()
                if left <= 0:
                    sys.exit("the watcher did not see the change within %ds (last: %r)" % (timeout, self.latest))
                self.condition.wait(left)
            return self.latest[1]


def percentile(values, percent):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def main():
    options = {"--sdctl": os.path.join(HERE, "../../.build/debug/sdctl"), "--rounds": "30"}
    args = sys.argv[1:]
    while args:
        key = args.pop(0)
        if key not in options or not args:
            sys.exit(__doc__)
        options[key] = args.pop(0)
    sdctl, rounds = os.path.abspath(options["--sdctl"]), int(options["--rounds"])
    a, b = make_link("sdctl-bench-%d" % os.getpid())
    watcher = None
    try:
        watcher = Watcher(["ip", "netns", "exec", b, sdctl, "watch", TARGET, "-o", "json"])
        watcher.wait(lambda addresses: True)
        seen, gone = [], []
        for round in range(rounds):
            name = "bench-%d-%d" % (os.getpid(), round)
            address = "%s.local:%d" % (name, 9000 + round)
            registrar = subprocess.Popen(
                ["ip", "netns", "exec", a, sdctl, "register", TARGET, "10.99.0.1:%d" % (9000 + round), "--id", name],
                stdout=subprocess.PIPE, text=True)
            line = registrar.stdout.readline().strip()
            announced = time.monotonic()
            if line != name:
                sys.exit("the registrar printed %r, not %r" % (line, name))
            seen.append((watcher.wait(lambda addresses: address in addresses) - announced) * 1000)
            registrar.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            gone.append((watcher.wait(lambda addresses: address not in addresses) - stopped) * 1000)
            registrar.wait()
        for label, values in (("announced -> seen across the link", seen), ("SIGTERM -> removal seen", gone)):
            print("%-36s n=%d  p50 %.2f ms  p90 %.2f  max %.2f" % (
                label, len(values), percentile(values, 50), percentile(values, 90), max(values)))
    finally:
        if watcher:
            watcher.process.terminate()
            watcher.process.wait()
        for namespace in (a, b):
            subprocess.run(["ip", "netns", "del", namespace])


if __name__ == "__main__":
    main()
