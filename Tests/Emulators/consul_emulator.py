#!/usr/bin/env python3
"""An emulator of the Consul agent's HTTP API, for tests: one agent, one node, one datacenter.

It follows the facts in PROTOCOLS.md and Consul's agent/http*.go where those are silent:
blocking queries on the health and catalog endpoints, agent service registration with TTL, HTTP
and TCP checks, DeregisterCriticalServiceAfter, ACL tokens, and the 400s, 403s and 404s with
Consul's own reasons. Control endpoints under /_emulator/ (never part of Consul's API) switch on
faults and report request counts. docs/consul.md lists what it covers and what it does not.

Started by the tests:  consul_emulator.py --port 0 [--unix PATH] [--tls-cert C --tls-key K
[--tls-client-ca CA]] [--acl-token T] [--acl-read-token R] [--min-deregister-after 1s]
[--reap-interval 1s]. It prints "listening PORT" (or "listening unix PATH") and runs until
stdin closes or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from emulator_http import EmulatorHandler, EmulatorState, HTTPError, add_server_arguments, serve

NODE = "emulator"
NODE_ID = "5a8d2a1e-0000-4000-8000-000000000001"
NODE_ADDRESS = "127.0.0.1"
DATACENTER = "dc1"


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds; ValueError when Go would fail."""
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = 1.0
    rest = text
    if rest[:1] in "+-" and rest:
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if not rest:
        raise ValueError(text)
    total = 0.0
    position = 0
    while position < len(rest):
        match = _DURATION_PART.match(rest, position)
        if not match:
            raise ValueError(text)
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return sign * total


def go_bool(text: str) -> bool:
    """Go's strconv.ParseBool."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def canonical(key: str) -> str:
    """Consul decodes bodies case-insensitively and accepts snake_case: one spelling for both."""
    return key.replace("_", "").lower()


def field(body: dict, name: str, default=None):
    wanted = canonical(name)
    for key, value in body.items():
        if canonical(key) == wanted:
            return value
    return default


class Check:
    def __init__(self, check_id, name, service_id, service_name, definition, status):
        self.check_id = check_id
        self.name = name
        self.service_id = service_id
        self.service_name = service_name
        self.status = status
        self.output = ""
        self.notes = field(definition, "Notes", "") or ""
        self.ttl = None
        self.http = field(definition, "HTTP")
        self.tcp = field(definition, "TCP")
        self.interval = None
        self.timeout = 10.0
        self.deregister_after = None
        self.critical_since = time.monotonic() if status == "critical" else None
        self.ttl_deadline = None
        self.create_index = 0
        self.modify_index = 0

    @property
    def kind(self) -> str:
        return "ttl" if self.ttl else "http" if self.http else "tcp"

    def to_json(self) -> dict:
        return {
            "Node": NODE,
            "CheckID": self.check_id,
            "Name": self.name,
            "Status": self.status,
            "Notes": self.notes,
            "Output": self.output,
            "ServiceID": self.service_id,
            "ServiceName": self.service_name,
            "ServiceTags": [],
            "Type": self.kind,
            "Interval": "",
            "Timeout": "",
            "ExposedPort": 0,
            "Definition": {},
            "CreateIndex": self.create_index,
            "ModifyIndex": self.modify_index,
        }


class State(EmulatorState):
    """Everything the agent knows, behind one condition variable that blocking queries wait on."""

    def __init__(self, options):
        super().__init__()
        self.options = options
        self.index = 10  # Consul's raft index never starts at 0
        # How long ago the follower that answers ?stale reads last heard from the leader, in
        # milliseconds (/_emulator/last-contact): the leader itself always answers 0.
        self.follower_last_contact = 0
        self.services: dict[str, dict] = {}
        self.checks: dict[str, Check] = {}
        self.service_index: dict[str, int] = {}
        self.node_check = {"Status": "passing", "modify_index": 5}
        self.faults.update({"constant_index": False, "first_tag_only": False})

    # -- changes (called with the lock held) -------------------------------------------------

    def bump(self, service_name: str | None) -> int:
        self.index += 1
        if service_name is None:
            for name in list(self.service_index):
                self.service_index[name] = self.index
        else:
            self.service_index[service_name] = self.index
        self.lock.notify_all()
        return self.index

    def index_of(self, service_name: str) -> int:
        return self.service_index.get(service_name, self.index)

    def set_status(self, check: Check, status: str, output: str):
        if check.status == status and check.output == output:
            return
        if status == "critical" and check.status != "critical":
            check.critical_since = time.monotonic()
        elif status != "critical":
            check.critical_since = None
        check.status = status
        check.output = output
        check.modify_index = self.bump(check.service_name)

    def remove_service(self, service_id: str):
        service = self.services.pop(service_id)
        for check_id in [c for c, check in self.checks.items() if check.service_id == service_id]:
            del self.checks[check_id]
        self.bump(service["Service"])

    # -- views ------------------------------------------------------------------------------

    def node_json(self) -> dict:
        return {
            "ID": NODE_ID,
            "Node": NODE,
            "Address": NODE_ADDRESS,
            "Datacenter": DATACENTER,
            "TaggedAddresses": {"lan": NODE_ADDRESS, "lan_ipv4": NODE_ADDRESS, "wan": NODE_ADDRESS, "wan_ipv4": NODE_ADDRESS},
            "Meta": {"consul-network-segment": ""},
            "CreateIndex": 5,
            "ModifyIndex": 5,
        }

    def node_check_json(self) -> dict:
        return {
            "Node": NODE,
            "CheckID": "serfHealth",
            "Name": "Serf Health Status",
            "Status": self.node_check["Status"],
            "Notes": "",
            "Output": "Agent alive and reachable",
            "ServiceID": "",
            "ServiceName": "",
            "ServiceTags": [],
            "Type": "",
            "CreateIndex": 5,
            "ModifyIndex": self.node_check["modify_index"],
        }

    def health_entries(self, name: str, tags: list[str], passing: bool) -> list:
        entries = []
        for service in self.services.values():
            if service["Service"] != name or not all(tag in service["Tags"] for tag in tags):
                continue
            checks = [self.node_check_json()] + [
                check.to_json() for check in self.checks.values() if check.service_id == service["ID"]
            ]
            if passing and any(check["Status"] != "passing" for check in checks):
                continue
            entries.append({"Node": self.node_json(), "Service": dict(service), "Checks": checks})
        entries.sort(key=lambda entry: entry["Service"]["ID"])
        return entries

    def catalog_entries(self, name: str, tags: list[str]) -> list:
        node = self.node_json()
        result = []
        for service in sorted(self.services.values(), key=lambda s: s["ID"]):
            if service["Service"] != name or not all(tag in service["Tags"] for tag in tags):
                continue
            result.append(
                {
                    "ID": node["ID"],
                    "Node": NODE,
                    "Address": NODE_ADDRESS,
                    "Datacenter": DATACENTER,
                    "TaggedAddresses": node["TaggedAddresses"],
                    "NodeMeta": node["Meta"],
                    "ServiceKind": "",
                    "ServiceID": service["ID"],
                    "ServiceName": service["Service"],
                    "ServiceTags": service["Tags"],
                    "ServiceAddress": service["Address"],
                    "ServiceWeights": service["Weights"],
                    "ServiceMeta": service["Meta"],
                    "ServicePort": service["Port"],
                    "ServiceEnableTagOverride": False,
                    "CreateIndex": service["CreateIndex"],
                    "ModifyIndex": service["ModifyIndex"],
                }
            )
        return result

    def agent_service_json(self, service: dict) -> dict:
        view = {key: service[key] for key in ("ID", "Service", "Tags", "Meta", "Port", "Address", "Weights")}
        view.update({"EnableTagOverride": False, "Datacenter": DATACENTER})
        return view


class Checker(threading.Thread):
    """TTL expiry, HTTP and TCP checks, and DeregisterCriticalServiceAfter's reaper."""

    def __init__(self, state: State):
        super().__init__(daemon=True)
        self.state = state
        self.last_run: dict[str, float] = {}
        self.last_reap = time.monotonic()

    def run(self):
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            probes = []
            with self.state.lock:
                for check in list(self.state.checks.values()):
                    if check.ttl and check.ttl_deadline is not None and now >= check.ttl_deadline:
                        check.ttl_deadline = None
                        self.state.set_status(check, "critical", "TTL expired")
                    elif check.interval and now - self.last_run.get(check.check_id, 0) >= check.interval:
                        self.last_run[check.check_id] = now
                        probes.append((check.check_id, check.http, check.tcp, check.timeout))
                if now - self.last_reap >= self.state.options.reap_interval:
                    self.last_reap = now
                    for check in list(self.state.checks.values()):
                        if (
                            check.deregister_after is not None
                            and check.critical_since is not None
                            and now - check.critical_since >= check.deregister_after
                            and check.service_id in self.state.services
                        ):
                            self.state.remove_service(check.service_id)
            for check_id, http, tcp, timeout in probes:
                threading.Thread(target=self.probe, args=(check_id, http, tcp, timeout), daemon=True).start()

    def probe(self, check_id, http, tcp, timeout):
        status, output = probe(http, tcp, timeout)
        with self.state.lock:
            check = self.state.checks.get(check_id)
            if check is not None:
                self.state.set_status(check, status, output)


def loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def probe(http, tcp, timeout) -> tuple[str, str]:
    """Runs an HTTP or TCP check as Consul does; refuses anything but loopback (tests only)."""
    if tcp:
        host, _, port = tcp.rpartition(":")
        host = host.strip("[]")
        if not loopback(host):
            return "critical", f"emulator: refusing to check non-loopback {tcp}"
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return "passing", f"TCP connect {tcp}: Success"
        except OSError as error:
            return "critical", f"dial tcp {tcp}: {error}"
    url = urllib.parse.urlsplit(http)
    if not loopback(url.hostname or ""):
        return "critical", f"emulator: refusing to check non-loopback {http}"
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return "passing", f"HTTP GET {http}: {response.status} Output: "
    except urllib.error.HTTPError as error:
        status = "warning" if error.code == 429 else "critical"
        return status, f"HTTP GET {http}: {error.code} Output: "
    except OSError as error:
        return "critical", f"Get \"{http}\": {error}"


class Handler(EmulatorHandler):
    server_version = "consul-emulator"
    state: State

    def route(self, method: str, path: str, raw: bytes):
        routes = [
            (r"/v1/health/service/(.+)", ("GET",), self.health_service),
            (r"/v1/catalog/service/(.+)", ("GET",), self.catalog_service),
            (r"/v1/catalog/services", ("GET",), self.catalog_services),
            (r"/v1/agent/services", ("GET",), self.agent_services),
            (r"/v1/agent/service/register", ("PUT",), self.agent_register),
            (r"/v1/agent/service/deregister/(.+)", ("PUT",), self.agent_deregister),
            (r"/v1/agent/service/(.+)", ("GET",), self.agent_service),
            (r"/v1/agent/checks", ("GET",), self.agent_checks),
            (r"/v1/agent/check/(pass|warn|fail)/(.+)", ("PUT",), self.agent_check_mark),
            (r"/v1/agent/check/update/(.+)", ("PUT",), self.agent_check_update),
            (r"/v1/agent/self", ("GET",), self.agent_self),
            (r"/v1/status/leader", ("GET",), self.status_leader),
        ]
        for pattern, methods, handler in routes:
            match = re.fullmatch(pattern, path)
            if match:
                if method not in methods:
                    raise HTTPError(405, f"method {method} not allowed")
                return handler(*match.groups(), raw=raw) if "raw" in handler.__code__.co_varnames else handler(*match.groups())
        raise HTTPError(404, f"Invalid URL path: not a recognized HTTP API endpoint")

    # -- ACLs -------------------------------------------------------------------------------

    def token(self) -> str | None:
        token = self.headers.get("X-Consul-Token")
        authorization = self.headers.get("Authorization") or ""
        if not token and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        return token or self.param("token")

    def rights(self) -> set[str]:
        options = self.state.options
        if options.acl_token is None:
            return {"read", "write"}
        token = self.token()
        if token is None:
            return set()  # anonymous, default deny
        if token == options.acl_token:
            return {"read", "write"}
        if token == options.acl_read_token:
            return {"read"}
        raise HTTPError(403, "ACL not found")

    def require_write(self, what: str, rights: set[str]):
        if "write" not in rights:
            who = "anonymous token" if self.token() is None else "token with AccessorID 'read-only'"
            raise HTTPError(403, f"Permission denied: {who} lacks permission 'service:write' on \"{what}\"")

    # -- blocking queries ---------------------------------------------------------------------

    def blocking(self, name: str, view):
        """Answers `view()` once the service's index passes ?index or ?wait runs out."""
        wait_text = self.param("wait")
        index_text = self.param("index")
        wait = 300.0
        if wait_text is not None and wait_text != "":
            try:
                wait = parse_go_duration(wait_text)
            except ValueError:
                raise HTTPError(400, "Invalid wait time")
        index = 0
        if index_text is not None and index_text != "":
            try:
                index = int(index_text)
                if index < 0 or index >= 2**64:
                    raise ValueError
            except ValueError:
                raise HTTPError(400, "Invalid index")
        if self.param("stale") is not None and self.param("consistent") is not None:
            raise HTTPError(400, "Cannot specify ?stale with ?consistent, conflicting semantics.")
        dc = self.param("dc")
        if dc not in (None, "", DATACENTER):
            raise HTTPError(500, "No path to datacenter")
        wait = min(max(wait, 0), 600.0)
        state = self.state
        with state.lock:
            if state.faults["constant_index"]:
                constant = state.faults["constant_index"]
                return self.answer(view(), 42 if constant is True else int(constant))
            if index > 0:
                deadline = time.monotonic() + wait + random.uniform(0, wait / 16)
                while state.index_of(name) <= index:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    state.lock.wait(remaining)
            return self.answer(view(), state.index_of(name))

    def answer(self, body, index: int):
        headers = {"X-Consul-Index": str(max(index, 1)), "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "0"}
        if self.param("stale") is not None:
            # Any server answers a stale read: a follower reports its own last contact.
            headers["X-Consul-LastContact"] = str(self.state.follower_last_contact)
            headers["X-Consul-Effective-Consistency"] = "stale"
        else:
            headers["X-Consul-Effective-Consistency"] = "leader"
        self.send(200, body, headers)

    def query_tags(self) -> list[str]:
        tags = self.query.get("tag", [])
        # Servers before 1.3 filtered by the first tag only.
        return tags[:1] if self.state.faults["first_tag_only"] else tags

    def health_service(self, name: str):
        passing = False
        if "passing" in self.query:
            value = self.param("passing")
            try:
                passing = True if value == "" else go_bool(value)
            except ValueError:
                raise HTTPError(400, "Invalid value for ?passing")
        rights = self.rights()
        tags = self.query_tags()
        self.blocking(name, lambda: self.state.health_entries(name, tags, passing) if "read" in rights else [])

    def catalog_service(self, name: str):
        rights = self.rights()
        tags = self.query_tags()
        self.blocking(name, lambda: self.state.catalog_entries(name, tags) if "read" in rights else [])

    def catalog_services(self):
        rights = self.rights()
        with self.state.lock:
            names: dict[str, list] = {"consul": []} if "read" in rights else {}
            if "read" in rights:
                for service in self.state.services.values():
                    names.setdefault(service["Service"], [])
                    names[service["Service"]] = sorted(set(names[service["Service"]]) | set(service["Tags"]))
            self.answer(names, self.state.index)

    # -- agent ------------------------------------------------------------------------------

    def agent_services(self):
        rights = self.rights()
        with self.state.lock:
            services = {} if "read" not in rights else {
                sid: self.state.agent_service_json(service) for sid, service in self.state.services.items()
            }
        self.send(200, services)

    def agent_service(self, service_id: str):
        rights = self.rights()
        with self.state.lock:
            service = self.state.services.get(service_id)
            if service is None or "read" not in rights:
                raise HTTPError(404, f"unknown service ID: {service_id}")
            self.send(200, self.state.agent_service_json(service), {"X-Consul-ContentHash": "%016x" % service["ModifyIndex"]})

    def agent_checks(self):
        rights = self.rights()
        with self.state.lock:
            checks = {} if "read" not in rights else {cid: c.to_json() for cid, c in self.state.checks.items()}
        self.send(200, checks)

    def agent_self(self):
        self.rights()
        self.send(200, {"Config": {"Datacenter": DATACENTER, "NodeName": NODE, "NodeID": NODE_ID, "Version": "1.20.0"},
                        "Member": {"Name": NODE, "Addr": NODE_ADDRESS, "Port": 8301}})

    def status_leader(self):
        self.send(200, json.dumps("127.0.0.1:8300"), content_type="application/json")

    def agent_register(self, raw: bytes):
        try:
            body = json.loads(raw or b"null")
        except ValueError as error:
            raise HTTPError(400, f"Request decode failed: {error}")
        if not isinstance(body, dict):
            raise HTTPError(400, "Request decode failed: body is not a JSON object")
        name = field(body, "Name")
        if not name or not isinstance(name, str):
            raise HTTPError(400, "Missing service name")
        rights = self.rights()
        self.require_write(name, rights)
        service_id = field(body, "ID") or name
        tags = field(body, "Tags") or []
        meta = field(body, "Meta") or {}
        port = field(body, "Port") or 0
        address = field(body, "Address") or ""
        weights = field(body, "Weights") or {"Passing": 1, "Warning": 1}
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise HTTPError(400, "Request decode failed: Tags must be a list of strings")
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise HTTPError(400, "Request decode failed: Meta must map strings to strings")
        for key in meta:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", key):
                raise HTTPError(400, f"Invalid Service Meta: Key contains invalid characters: {key}")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise HTTPError(400, "Request decode failed: invalid Port")
        weights = {"Passing": field(weights, "Passing", 1), "Warning": field(weights, "Warning", 1)}
        definitions = []
        if field(body, "Check"):
            definitions.append(field(body, "Check"))
        definitions.extend(field(body, "Checks") or [])
        checks = []
        for number, definition in enumerate(definitions):
            if not isinstance(definition, dict):
                raise HTTPError(400, "Request decode failed: a check must be a JSON object")
            check_id = field(definition, "CheckID") or field(definition, "ID")
            if not check_id:
                check_id = f"service:{service_id}" + (f":{number + 1}" if len(definitions) > 1 else "")
            status = field(definition, "Status") or "critical"
            if status not in ("passing", "warning", "critical"):
                raise HTTPError(400, f"Invalid check: Status must be one of passing, warning, critical")
            check = Check(check_id, field(definition, "Name") or f"Service '{name}' check", service_id, name, definition, status)
            try:
                ttl = field(definition, "TTL")
                interval = field(definition, "Interval")
                timeout = field(definition, "Timeout")
                deregister = field(definition, "DeregisterCriticalServiceAfter")
                check.ttl = parse_go_duration(ttl) if ttl else None
                check.interval = parse_go_duration(interval) if interval else None
                if timeout:
                    check.timeout = parse_go_duration(timeout)
                if deregister:
                    # Consul raises anything under its minimum (1m) to the minimum.
                    check.deregister_after = max(parse_go_duration(deregister), self.state.options.min_deregister_after)
            except ValueError as error:
                raise HTTPError(400, f"Request decode failed: time: invalid duration \"{error}\"")
            if check.http or check.tcp:
                if not check.interval or check.interval <= 0:
                    raise HTTPError(400, "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks")
            elif not check.ttl or check.ttl <= 0:
                raise HTTPError(400, "Invalid check: TTL must be > 0 for TTL checks")
            checks.append(check)
        state = self.state
        with state.lock:
            previous = state.services.get(service_id)
            if previous is not None and previous["Service"] != name:
                state.remove_service(service_id)
                previous = None
            index = state.index + 1
            state.services[service_id] = {
                "ID": service_id,
                "Service": name,
                "Tags": list(tags),
                "Address": address,
                "Meta": dict(meta),
                "Port": port,
                "Weights": weights,
                "EnableTagOverride": False,
                "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}},
                "Connect": {},
                "PeerName": "",
                "CreateIndex": previous["CreateIndex"] if previous else index,
                "ModifyIndex": index,
            }
            replace = self.param("replace-existing-checks") is not None
            for check_id in [c for c, check in state.checks.items() if check.service_id == service_id]:
                if replace or check_id in {check.check_id for check in checks}:
                    del state.checks[check_id]
            now = time.monotonic()
            for check in checks:
                check.create_index = check.modify_index = index
                if check.ttl:
                    check.ttl_deadline = now + check.ttl
                state.checks[check.check_id] = check
            state.bump(name)
        self.send(200, None)

    def agent_deregister(self, service_id: str):
        rights = self.rights()
        with self.state.lock:
            service = self.state.services.get(service_id)
            self.require_write(service["Service"] if service else service_id, rights)
            if service is None:
                raise HTTPError(404, f"Unknown service ID \"{service_id}\". Ensure that the service ID is passed, not the service name.")
            self.state.remove_service(service_id)
        self.send(200, None)

    def agent_check_mark(self, verb: str, check_id: str):
        self.update_check(check_id, {"pass": "passing", "warn": "warning", "fail": "critical"}[verb], self.param("note") or "")

    def agent_check_update(self, check_id: str, raw: bytes):
        try:
            body = json.loads(raw or b"{}")
        except ValueError as error:
            raise HTTPError(400, f"Request decode failed: {error}")
        status = field(body, "Status")
        if status not in ("passing", "warning", "critical"):
            raise HTTPError(400, f"Invalid check status: \"{status}\"")
        self.update_check(check_id, status, field(body, "Output") or "")

    def update_check(self, check_id: str, status: str, output: str):
        rights = self.rights()
        with self.state.lock:
            check = self.state.checks.get(check_id)
            self.require_write(check.service_name if check else check_id, rights)
            if check is None:
                raise HTTPError(404, f"Unknown check ID \"{check_id}\". Ensure that the check ID is passed, not the check name.")
            if not check.ttl:
                raise HTTPError(500, f"CheckID \"{check_id}\" does not have associated TTL")
            check.ttl_deadline = time.monotonic() + check.ttl
            self.state.set_status(check, status, output)
        self.send(200, None)

    # -- the emulator's own control endpoints -------------------------------------------------

    def control(self, method: str, path: str, body: dict) -> bool:
        """Consul's own switches (lock held); faults and stats are the shared ones."""
        state = self.state
        if path == "/_emulator/index-backwards" and method == "POST":
            # A raft snapshot restore: every index drops below what clients have seen.
            state.index = max(2, state.index // 4)
            for name in state.service_index:
                state.service_index[name] = state.index
            state.lock.notify_all()
        elif path == "/_emulator/restart" and method == "POST":
            # An agent restarted without its state: every registration is forgotten.
            names = {service["Service"] for service in state.services.values()}
            state.services.clear()
            state.checks.clear()
            for name in names:
                state.bump(name)
        elif path == "/_emulator/last-contact" and method == "POST":
            # A follower behind its leader: what ?stale reads answer with.
            state.follower_last_contact = int(body["milliseconds"])
        elif path == "/_emulator/node-check" and method == "POST":
            state.node_check = {"Status": body["Status"], "modify_index": state.bump(None)}
        else:
            return False
        return True

    def extra_stats(self) -> dict:
        return {"index": self.state.index}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--acl-token")
    parser.add_argument("--acl-read-token")
    parser.add_argument("--min-deregister-after", type=parse_go_duration, default=60.0)
    parser.add_argument("--reap-interval", type=parse_go_duration, default=30.0)
    options = parser.parse_args()
    state = State(options)
    Checker(state).start()
    serve(options, Handler, state)


if __name__ == "__main__":
    main()
