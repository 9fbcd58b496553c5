"""What the emulators share: an HTTP/1.1 handler with fault switches and request counts, TLS,
Unix sockets, and a main loop that ends with the test process that started it."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HTTPError(Exception):
    def __init__(self, status: int, reason: str, headers: dict | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


class EmulatorState:
    """The lock every emulator's state lives behind, the faults and the request counts."""

    def __init__(self):
        self.lock = threading.Condition()
        self.requests: dict[str, int] = {}
        self.server_names: list[str] = []  # SNI of each TLS handshake
        self.faults = {
            "fail_status": 0,
            "fail_count": 0,
            "delay": 0.0,
            "refuse": False,
            "stall_body": 0.0,
            "stall_on": "",
            "raw_body": "",
            "raw_on": "",
        }

    def control(self, method: str, path: str, body: dict) -> bool:
        """The shared control endpoints; False when `path` is not one of them. Lock held."""
        if path == "/_emulator/stats/reset" and method == "POST":
            self.requests.clear()
        elif path == "/_emulator/faults" and method == "POST":
            for key in body:
                if key not in self.faults:
                    raise HTTPError(400, f"unknown fault {key}")
            self.faults.update(body)
        else:
            return False
        return True

    def stats(self) -> dict:
        return {"requests": dict(self.requests), "server_names": list(self.server_names)}


class EmulatorHandler(BaseHTTPRequestHandler):
    """Routes to `route(method, path, body)`; the shared faults apply to every API request:
    `fail_status` for `fail_count` requests (-1: until cleared), `delay` seconds, `refuse`
    (close the connection unanswered), `stall_body` seconds (send the headers and the body's
    first byte, then nothing for that long) for requests whose "METHOD path" starts with
    `stall_on`, `raw_body` (answer 200 with exactly this text as JSON, X-Consul-Index 7) for
    requests whose "METHOD path" starts with `raw_on`. `/_emulator/...` goes to `control`."""

    stall = 0.0

    protocol_version = "HTTP/1.1"
    state: EmulatorState

    def log_message(self, format, *args):  # quiet: the tests read their own output
        pass

    def setup(self):
        super().setup()
        # As Go's net/http and Java servers do: without it, headers and body leave in two
        # segments and Nagle holds the second for the client's delayed ACK (40 ms on Linux).
        if self.connection.family in (socket.AF_INET, socket.AF_INET6):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def address_string(self):
        return "unix" if not self.client_address else str(self.client_address[0])

    def do_GET(self):
        self.dispatch("GET")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def send(self, status: int, body=None, headers: dict | None = None, content_type: str | None = None):
        """JSON for dicts and lists, text for str and bytes, nothing for None."""
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        if content_type is None:
            content_type = "application/json" if isinstance(body, (dict, list)) else "text/plain; charset=utf-8"
        self.send_response(status)
        if data or body is not None:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.stall:
            # A server that stalls mid-body: headers and one byte, then silence.
            data = data or b"  "  # two bytes, so that one is still owed
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data[:1])
                self.wfile.flush()
                time.sleep(self.stall)
                self.wfile.write(data[1:])
            except OSError:
                pass  # the client gave up, as it should
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def dispatch(self, method: str):
        self.stall = 0.0
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        path = urllib.parse.unquote(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        state = self.state
        try:
            if path.startswith("/_emulator/"):
                body = json.loads(raw or b"{}")
                with state.lock:
                    if path == "/_emulator/stats" and method == "GET":
                        return self.send(200, {**state.stats(), **self.extra_stats()})
                    if not state.control(method, path, body) and not self.control(method, path, body):
                        raise HTTPError(404, "unknown emulator endpoint")
                return self.send(200)
            with state.lock:
                key = f"{method} {path}"
                state.requests[key] = state.requests.get(key, 0) + 1
                faults = dict(state.faults)
                if faults["fail_count"] > 0:
                    state.faults["fail_count"] -= 1
            if faults["refuse"]:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if faults["delay"]:
                time.sleep(faults["delay"])
            self.stall = faults["stall_body"] if key.startswith(faults["stall_on"]) else 0.0
            if faults["raw_body"] and key.startswith(faults["raw_on"]):
                return self.send(200, faults["raw_body"].encode(), {"X-Consul-Index": "7"}, "application/json")
            if faults["fail_count"] != 0 and faults["fail_status"]:
                raise HTTPError(faults["fail_status"], "emulator: injected failure")
            self.route(method, path, raw)
        except HTTPError as error:
            self.send(error.status, error.reason, error.headers)

    # Overridden by each emulator.
    def route(self, method: str, path: str, raw: bytes):
        raise HTTPError(404, "not found")

    def control(self, method: str, path: str, body: dict) -> bool:
        return False

    def extra_stats(self) -> dict:
        return {}


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("", 0)


def add_server_arguments(parser: argparse.ArgumentParser):
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unix")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca")


def serve(options, handler: type[EmulatorHandler], state: EmulatorState):
    """Serves on 127.0.0.1:--port (or --unix), with TLS when asked; prints "listening PORT" (or
    "listening unix PATH") and runs until stdin closes or SIGTERM."""
    handler.state = state
    if options.unix:
        server = UnixHTTPServer(options.unix, handler)
        where = f"unix {options.unix}"
    else:
        ThreadingHTTPServer.daemon_threads = True
        server = ThreadingHTTPServer(("127.0.0.1", options.port), handler)
        where = str(server.server_address[1])
    if options.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.tls_cert, options.tls_key)
        if options.tls_client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(options.tls_client_ca)

        def remember_server_name(connection, name, context):
            with state.lock:
                state.server_names.append(name or "")

        context.sni_callback = remember_server_name
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening {where}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # Ends with its parent: the tests hold our stdin open.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)
