#!/usr/bin/env python3
"""Peak memory and time of `sdctl resolve` and `sdctl watch -o json` against a hostile
answer: 850,853 small instances in one answer (56.0 MB as a Consul health answer, 44.1 MB as
a Eureka application), as issue #24 tried. The server answers the watch's blocking query
(Consul) only after a minute, so a watch reads one answer.

Usage: hostile-answer.py SDCTL"""
import http.server
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

COUNT = 850_853
CONSUL = ("[" + ",".join('{"Node":{"Address":"1.2.3.4"},"Service":{"ID":"%d","Port":1}}' % i
                         for i in range(COUNT)) + "]").encode()
EUREKA = ('{"application":{"instance":[' + ",".join('{"instanceId":"%d","ipAddr":"1.2.3.4","port":1}' % i
                                                     for i in range(COUNT)) + "]}}").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = CONSUL if self.path.startswith("/v1/") else EUREKA
        if "index=" in self.path:
            time.sleep(60)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Consul-Index", "5")
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sdctl = sys.argv[1]
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(f"Consul answer {len(CONSUL) / 1e6:.1f} MB, Eureka answer {len(EUREKA) / 1e6:.1f} MB")
    home = tempfile.mkdtemp(prefix="sdctl-hostile-")
    environment = dict(os.environ, SDCTL_HOME=home)
    for target in [f"consul://127.0.0.1:{port}/web", f"eureka://127.0.0.1:{port}/eureka/apps/WEB"]:
        for argv in (["resolve", target, "--timeout", "40s"], ["watch", target, "-o", "json", "--timeout", "40s"]):
            started = time.monotonic()
            process = subprocess.run(["/usr/bin/time", "-f", "%M", sdctl, *argv], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=environment)
            lines = process.stderr.decode(errors="replace").strip().split("\n")
            print(f"{argv[0]} {target.split(':')[0]}: exit {process.returncode}, {time.monotonic() - started:.1f} s,"
                  f" {int(lines[-1]) / 1024:.0f} MB peak RSS; {lines[0][:160] if len(lines) > 1 else ''}")
    server.shutdown()


if __name__ == "__main__":
    main()
