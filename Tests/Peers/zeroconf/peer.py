"""python-zeroconf (pinned in Tests/Emulators/requirements.txt) as a second mDNS peer for
sdctl's interop tests, on one end of the test's own link.

  peer.py register TYPE NAME PORT ADDRESS [KEY=VALUE ...]
      registers until SIGTERM, then unregisters (goodbye); prints "registered NAME" and
      "unregistered" as it goes.
  peer.py browse TYPE
      browses until SIGTERM; prints one JSON line per event: {"event": "add"|"remove"|"update",
      "name": ..., and for add/update "port", "addresses", "server", "properties"}.
"""

import json
import signal
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

# A parent may have started this with signals blocked (Foundation's Process passes its thread's
# mask on): SIGTERM must reach the handler below.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())


def emit(**fields):
    print(json.dumps(fields), flush=True)


class Listener(ServiceListener):
    def _info(self, zc, type_, name, event):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            emit(event=event, name=name, resolved=False)
            return
        emit(
            event=event,
            name=name,
            port=info.port,
            server=info.server,
            addresses=sorted(info.parsed_scoped_addresses()),
            properties={
                k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()
            },
        )

    def add_service(self, zc, type_, name):
        self._info(zc, type_, name, "add")

    def update_service(self, zc, type_, name):
        self._info(zc, type_, name, "update")

    def remove_service(self, zc, type_, name):
        emit(event="remove", name=name)


def main():
    mode, type_ = sys.argv[1], sys.argv[2]
    if not type_.endswith("."):
        type_ += "."
    zc = Zeroconf(ip_version=IPVersion.All)
    try:
        if mode == "register":
            name, port, address = sys.argv[3], int(sys.argv[4]), sys.argv[5]
            properties = dict(pair.split("=", 1) for pair in sys.argv[6:])
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            info = ServiceInfo(
                type_,
                f"{name}.{type_}",
                port=port,
                properties=properties,
                server="zeroconf-peer.local.",
                addresses=[socket.inet_pton(family, address)],
            )
            zc.register_service(info)
            emit(event="registered", name=info.name)
            stop.wait()
            zc.unregister_service(info)
            emit(event="unregistered", name=info.name)
        elif mode == "browse":
            ServiceBrowser(zc, type_, Listener())
            emit(event="browsing")
            stop.wait()
        else:
            sys.exit(f"unknown mode {mode}")
    finally:
        zc.close()


if __name__ == "__main__":
    main()
