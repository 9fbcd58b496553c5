#!/usr/bin/env python3
"""An emulator of a Eureka server's REST API, for tests: one server, one region, no peers.

It follows PROTOCOLS.md and Netflix's ApplicationResource/InstanceResource where those are
silent: register with Eureka's 400 reasons, heartbeat, cancel, status overrides, reads in JSON
or XML (by Accept), full and delta registries, lease expiry, and optionally the read cache and
basic authentication real servers put in front. Control endpoints under /_emulator/ (never part
of Eureka's API) switch on faults and report request counts. docs/eureka.md lists what it covers
and what it does not.

Started by the tests:  eureka_emulator.py --port 0 [--base-path /eureka/v2] [--read-cache 30]
[--eviction-interval 1] [--user U --password P] [TLS and --unix as every emulator]. It prints
"listening PORT" and runs until stdin closes or SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
import xml.etree.ElementTree as ElementTree

from emulator_http import EmulatorHandler, EmulatorState, HTTPError, add_server_arguments, serve

STATUSES = ("UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN")
DEFAULT_DATA_CENTER_CLASS = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"
DELTA_RETENTION = 180.0  # seconds a change stays in /apps/delta, as Eureka's retentionTimeInMSInDeltaQueue


def now_ms() -> int:
    return int(time.time() * 1000)


def status_of(text) -> str:
    """Eureka reads unknown strings as UNKNOWN."""
    return text if text in STATUSES else "UNKNOWN"


def port_of(value, default_port: int, default_enabled: bool) -> tuple[int, bool]:
    """`{"$": 8080, "@enabled": "true"}`, or a bare number as some clients send."""
    if isinstance(value, dict):
        port = int(value.get("$", default_port))
        enabled = str(value.get("@enabled", str(default_enabled).lower())).lower() == "true"
        return port, enabled
    if value is None:
        return default_port, default_enabled
    return int(value), True


class Lease:
    """One registered instance: what the client sent, plus the server's bookkeeping."""

    def __init__(self, info: dict, app: str):
        self.info = info
        self.app = app
        self.instance_id = info["instanceId"]
        self.status = status_of(info.get("status", "UP"))
        self.overridden = "UNKNOWN"
        lease = info.get("leaseInfo") or {}
        self.renewal_interval = int(lease.get("renewalIntervalInSecs") or 30)
        self.duration = int(lease.get("durationInSecs") or 90)
        self.registered = now_ms()
        self.last_renewal = time.monotonic()
        self.last_renewal_ms = self.registered
        self.last_dirty = int(info.get("lastDirtyTimestamp") or self.registered)
        self.last_updated = self.registered
        self.action = "ADDED"

    @property
    def effective_status(self) -> str:
        return self.overridden if self.overridden != "UNKNOWN" else self.status

    def view(self) -> dict:
        """The instance as the server writes it (JSON field names; XML follows them)."""
        info = self.info
        port, port_enabled = port_of(info.get("port"), 7001, True)
        secure_port, secure_enabled = port_of(info.get("securePort"), 7002, False)
        data_center = info.get("dataCenterInfo") or {}
        metadata = info.get("metadata") or {}
        return {
            "instanceId": self.instance_id,
            "hostName": info["hostName"],
            "app": self.app,
            "ipAddr": info["ipAddr"],
            "status": self.effective_status,
            "overriddenStatus": self.overridden,
            "port": {"$": port, "@enabled": str(port_enabled).lower()},
            "securePort": {"$": secure_port, "@enabled": str(secure_enabled).lower()},
            "countryId": 1,
            "dataCenterInfo": {"@class": data_center.get("@class"), "name": data_center.get("name")},
            "leaseInfo": {
                "renewalIntervalInSecs": self.renewal_interval,
                "durationInSecs": self.duration,
                "registrationTimestamp": self.registered,
                "lastRenewalTimestamp": self.last_renewal_ms,
                "evictionTimestamp": 0,
                "serviceUpTimestamp": self.registered,
            },
            "metadata": dict(metadata) if metadata else {"@class": "java.util.Collections$EmptyMap"},
            "homePageUrl": info.get("homePageUrl") or "",
            "statusPageUrl": info.get("statusPageUrl") or "",
            "healthCheckUrl": info.get("healthCheckUrl") or "",
            "vipAddress": info.get("vipAddress") or self.app.lower(),
            "secureVipAddress": info.get("secureVipAddress") or self.app.lower(),
            "isCoordinatingDiscoveryServer": "false",
            "lastUpdatedTimestamp": str(self.last_updated),
            "lastDirtyTimestamp": str(self.last_dirty),
            "actionType": self.action,
        }


class State(EmulatorState):
    def __init__(self, options):
        super().__init__()
        self.options = options
        self.leases: dict[str, dict[str, Lease]] = {}  # APP -> instance id -> lease
        self.changes: list[tuple[float, str, dict]] = []  # (monotonic time, action, view) for /apps/delta
        self.version = 1
        self.cache: dict | None = None  # the read cache: {"time": t, "leases": snapshot}
        self.faults.update({"read_cache": options.read_cache, "single_object": False})

    def changed(self, lease: Lease, action: str):
        lease.action = action
        lease.last_updated = now_ms()
        self.version += 1
        self.changes.append((time.monotonic(), action, lease.view()))
        cutoff = time.monotonic() - DELTA_RETENTION
        self.changes = [change for change in self.changes if change[0] >= cutoff]

    def find(self, app: str, instance_id: str) -> Lease:
        lease = self.leases.get(app, {}).get(instance_id)
        if lease is None:
            raise HTTPError(404, "")
        return lease

    def remove(self, app: str, instance_id: str) -> Lease:
        lease = self.leases[app].pop(instance_id)
        if not self.leases[app]:
            del self.leases[app]
        self.changed(lease, "DELETED")
        return lease

    def readable(self) -> dict[str, list[dict]]:
        """APP -> instance views, through the read cache when it is on (lock held)."""
        current = {app: [lease.view() for lease in leases.values()] for app, leases in self.leases.items()}
        seconds = float(self.faults["read_cache"] or 0)
        if seconds <= 0:
            self.cache = None
            return current
        if self.cache is None or time.monotonic() - self.cache["time"] >= seconds:
            self.cache = {"time": time.monotonic(), "leases": current}
        return self.cache["leases"]


class Evictor(threading.Thread):
    """Removes instances whose lease ran out (no heartbeat for durationInSecs)."""

    def __init__(self, state: State):
        super().__init__(daemon=True)
        self.state = state

    def run(self):
        while True:
            time.sleep(self.state.options.eviction_interval)
            now = time.monotonic()
            with self.state.lock:
                for app, leases in list(self.state.leases.items()):
                    for instance_id, lease in list(leases.items()):
                        if now - lease.last_renewal > lease.duration:
                            self.state.remove(app, instance_id)


def hashcode(applications: dict[str, list[dict]]) -> str:
    """`apps__hashcode`: each status with its count, in status order (`UP_2_DOWN_1_`)."""
    counts: dict[str, int] = {}
    for views in applications.values():
        for view in views:
            counts[view["status"]] = counts.get(view["status"], 0) + 1
    return "".join(f"{status}_{counts[status]}_" for status in sorted(counts))


def xml_instance(parent, view: dict):
    element = ElementTree.SubElement(parent, "instance")
    for key, value in view.items():
        if key in ("port", "securePort"):
            child = ElementTree.SubElement(element, key, enabled=value["@enabled"])
            child.text = str(value["$"])
        elif key == "dataCenterInfo":
            child = ElementTree.SubElement(element, key, {"class": value["@class"] or ""})
            ElementTree.SubElement(child, "name").text = value["name"] or ""
        elif key == "metadata":
            child = ElementTree.SubElement(element, key)
            for name, text in value.items():
                if name == "@class":
                    child.set("class", text)
                else:
                    ElementTree.SubElement(child, name).text = text
        elif key == "leaseInfo":
            child = ElementTree.SubElement(element, key)
            for name, number in value.items():
                ElementTree.SubElement(child, name).text = str(number)
        elif key == "overriddenStatus":
            ElementTree.SubElement(element, "overriddenstatus").text = value
        else:
            ElementTree.SubElement(element, key).text = str(value)


class Handler(EmulatorHandler):
    server_version = "eureka-emulator"
    state: State

    def wants_json(self) -> bool:
        return "json" in (self.headers.get("Accept") or "")

    def reply(self, body: dict):
        """JSON when Accept asks for it, else XML, as the server does."""
        if self.wants_json():
            return self.send(200, body)
        root_name, content = next(iter(body.items()))
        root = ElementTree.Element(root_name)
        if root_name == "instance":
            xml_root = ElementTree.Element("root")
            xml_instance(xml_root, content)
            root = xml_root[0]
        else:
            self.xml_fill(root, root_name, content)
        data = ElementTree.tostring(root, encoding="unicode")
        self.send(200, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + data, content_type="application/xml")

    def xml_fill(self, root, name: str, content: dict):
        if name == "applications":
            ElementTree.SubElement(root, "versions__delta").text = str(content["versions__delta"])
            ElementTree.SubElement(root, "apps__hashcode").text = content["apps__hashcode"]
            for application in content["application"]:
                self.xml_fill(ElementTree.SubElement(root, "application"), "application", application)
        else:
            ElementTree.SubElement(root, "name").text = content["name"]
            instances = content["instance"]
            for view in instances if isinstance(instances, list) else [instances]:
                xml_instance(root, view)

    def application(self, app: str, views: list[dict]) -> dict:
        single = self.state.faults["single_object"] and len(views) == 1
        return {"name": app, "instance": views[0] if single else views}

    # -- routing ------------------------------------------------------------------------------

    def route(self, method: str, path: str, raw: bytes):
        self.authenticate()
        base = self.state.options.base_path
        if not path.startswith(base + "/"):
            raise HTTPError(404, "")
        parts = path[len(base) + 1 :].split("/")
        if parts[0] == "instances" and len(parts) == 2 and method == "GET":
            return self.instance_by_id(parts[1])
        if parts[0] != "apps":
            raise HTTPError(404, "")
        parts = parts[1:]
        if parts in ([], [""]) and method == "GET":
            return self.applications(delta=False)
        if parts == ["delta"] and method == "GET":
            return self.applications(delta=True)
        app = parts[0].upper()
        routes = {
            (1, "GET"): lambda: self.get_application(app),
            (1, "POST"): lambda: self.register(app, raw),
            (2, "GET"): lambda: self.get_instance(app, parts[1]),
            (2, "PUT"): lambda: self.heartbeat(app, parts[1]),
            (2, "DELETE"): lambda: self.cancel(app, parts[1]),
            (3, "PUT"): lambda: self.override(app, parts[1]),
            (3, "DELETE"): lambda: self.remove_override(app, parts[1]),
        }
        if len(parts) == 3 and parts[2] != "status":
            raise HTTPError(404, "")
        handler = routes.get((len(parts), method))
        if handler is None:
            raise HTTPError(405 if len(parts) <= 3 else 404, "")
        handler()

    def authenticate(self):
        options = self.state.options
        if options.user is None:
            return
        expected = "Basic " + base64.b64encode(f"{options.user}:{options.password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            raise HTTPError(401, "", {"WWW-Authenticate": 'Basic realm="Realm"'})

    # -- reads --------------------------------------------------------------------------------

    def applications(self, delta: bool):
        state = self.state
        with state.lock:
            readable = state.readable()
            if delta:
                cutoff = time.monotonic() - DELTA_RETENTION
                grouped: dict[str, list[dict]] = {}
                for when, action, view in state.changes:
                    if when >= cutoff:
                        grouped.setdefault(view["app"], []).append(dict(view, actionType=action))
                listed = grouped
            else:
                listed = readable
            body = {
                "applications": {
                    "versions__delta": str(state.version),
                    "apps__hashcode": hashcode(readable),
                    "application": [self.application(app, views) for app, views in sorted(listed.items())],
                }
            }
        self.reply(body)

    def get_application(self, app: str):
        with self.state.lock:
            views = self.state.readable().get(app)
        if not views:
            raise HTTPError(404, "")
        self.reply({"application": self.application(app, views)})

    def get_instance(self, app: str, instance_id: str):
        # Eureka's InstanceResource reads the registry itself, never the response cache.
        with self.state.lock:
            lease = self.state.leases.get(app, {}).get(instance_id)
            view = lease.view() if lease else None
        if view is None:
            raise HTTPError(404, "")
        self.reply({"instance": view})

    def instance_by_id(self, instance_id: str):
        with self.state.lock:
            views = [v for vs in self.state.readable().values() for v in vs if v["instanceId"] == instance_id]
        if not views:
            raise HTTPError(404, "")
        self.reply({"instance": views[0]})

    # -- writes -------------------------------------------------------------------------------

    def register(self, app: str, raw: bytes):
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise HTTPError(400, "emulator: the body is not JSON (XML registrations are not emulated)")
        info = body.get("instance") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            raise HTTPError(400, 'emulator: the body must be {"instance": {...}}')

        def blank(key):
            value = info.get(key)
            return not isinstance(value, str) or not value.strip()

        if blank("instanceId"):
            raise HTTPError(400, "Missing instanceId")
        if blank("hostName"):
            raise HTTPError(400, "Missing hostname")
        if blank("ipAddr"):
            raise HTTPError(400, "Missing ip address")
        if blank("app"):
            raise HTTPError(400, "Missing appName")
        if info["app"].upper() != app:
            raise HTTPError(400, f"Mismatched appName, expecting {app} but was {info['app'].upper()}")
        data_center = info.get("dataCenterInfo")
        if not isinstance(data_center, dict):
            raise HTTPError(400, "Missing dataCenterInfo")
        if not data_center.get("name"):
            raise HTTPError(400, "Missing dataCenterInfo Name")
        if not data_center.get("@class"):
            raise HTTPError(400, "Missing dataCenterInfo @class")
        try:
            port_of(info.get("port"), 7001, True)
            port_of(info.get("securePort"), 7002, False)
        except (TypeError, ValueError):
            raise HTTPError(400, "emulator: port and securePort must be numbers")
        metadata = info.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise HTTPError(400, "emulator: metadata must be an object")
        state = self.state
        with state.lock:
            lease = Lease(info, app)
            previous = state.leases.get(app, {}).get(lease.instance_id)
            if previous is not None:
                lease.overridden = previous.overridden
                lease.registered = previous.registered
            state.leases.setdefault(app, {})[lease.instance_id] = lease
            state.changed(lease, "MODIFIED" if previous else "ADDED")
        self.send(204)

    def heartbeat(self, app: str, instance_id: str):
        with self.state.lock:
            lease = self.state.find(app, instance_id)
            lease.last_renewal = time.monotonic()
            lease.last_renewal_ms = now_ms()
        self.send(200)

    def cancel(self, app: str, instance_id: str):
        with self.state.lock:
            self.state.find(app, instance_id)
            self.state.remove(app, instance_id)
        self.send(200)

    def override(self, app: str, instance_id: str):
        value = self.param("value")
        if value not in STATUSES:
            raise HTTPError(400, "")
        with self.state.lock:
            lease = self.state.find(app, instance_id)
            lease.overridden = value
            self.state.changed(lease, "MODIFIED")
        self.send(200)

    def remove_override(self, app: str, instance_id: str):
        with self.state.lock:
            lease = self.state.find(app, instance_id)
            lease.overridden = "UNKNOWN"
            if self.param("value") in STATUSES:
                lease.status = self.param("value")
            self.state.changed(lease, "MODIFIED")
        self.send(200)

    # -- the emulator's own switches ------------------------------------------------------------

    def control(self, method: str, path: str, body: dict) -> bool:
        state = self.state
        if path == "/_emulator/restart" and method == "POST":
            # A server restarted (or a registry lost): every lease is forgotten.
            state.leases.clear()
            state.changes.clear()
            state.cache = None
            state.version += 1
            return True
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--base-path", default="/eureka", help="/eureka (Spring Cloud) or /eureka/v2 (Netflix)")
    parser.add_argument("--read-cache", type=float, default=0.0, help="seconds; real servers use 30")
    parser.add_argument("--eviction-interval", type=float, default=60.0)
    parser.add_argument("--user")
    parser.add_argument("--password")
    options = parser.parse_args()
    state = State(options)
    Evictor(state).start()
    serve(options, Handler, state)


if __name__ == "__main__":
    main()
