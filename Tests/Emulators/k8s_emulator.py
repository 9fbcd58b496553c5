#!/usr/bin/env python3
"""An emulator of the parts of a Kubernetes API server a discovery client uses, for tests.

It follows PROTOCOLS.md and the API server's documented behaviour ("Efficient detection of
changes", "Resource versions", "Retrieving large results sets in chunks"): namespaces, Services
and discovery.k8s.io/v1 EndpointSlices created, replaced and deleted through the real REST
paths; EndpointSlice lists with label selectors and limit/continue pagination over a consistent
snapshot; watches as chunked JSON-lines streams from a resourceVersion, with synthetic ADDED
events for an unset or "0" version, bookmarks, server timeouts, and 410 Expired (as an ERROR
event, or as the answer's status) for a version older than the retained history; bearer tokens,
client certificates (TLS as every emulator) and RBAC refusals worded as the API server words
them. Control endpoints under /_emulator/ (never part of the API) expire history, drop or stall
watch streams and set bookmark intervals. docs/kubernetes.md lists what it does not cover.

Started by the tests:  k8s_emulator.py --port 0 [--token T] [--history N] [TLS and --unix as
every emulator]. It prints "listening PORT" and runs until stdin closes or SIGTERM.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone

from emulator_http import EmulatorHandler, EmulatorState, HTTPError, add_server_arguments, serve

GROUP = "discovery.k8s.io"
SLICES = re.compile(r"^/apis/discovery\.k8s\.io/v1/namespaces/([^/]+)/endpointslices(?:/([^/]+))?$")
ALL_SLICES = "/apis/discovery.k8s.io/v1/endpointslices"
SERVICES = re.compile(r"^/api/v1/namespaces/([^/]+)/services(?:/([^/]+))?$")
NAMESPACES = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?$")
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "message": message, "reason": reason, "code": code}
    if details is not None:
        body["details"] = details
    return body


class APIError(HTTPError):
    """A refusal with a Status body, as the API server sends every one."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(code, message)
        self.body = status(code, reason, message, details)


def not_found(resource: str, name: str, group: str = "") -> APIError:
    qualified = f"{resource}.{group}" if group else resource
    return APIError(404, "NotFound", f'{qualified} "{name}" not found',
                    {"name": name, "group": group, "kind": resource})


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_selector(text: str) -> list[tuple[str, str, str | None]]:
    """Equality-based label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated."""
    requirements = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        if "!=" in part:
            key, value = part.split("!=", 1)
            requirements.append((key.strip(), "!=", value.strip()))
        elif "==" in part or "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            requirements.append((key.strip(), "=", value.strip()))
        elif part.startswith("!"):
            requirements.append((part[1:].strip(), "!", None))
        else:
            requirements.append((part, "exists", None))
    for key, _, _ in requirements:
        if not key or " " in key:
            raise APIError(400, "BadRequest", f'unable to parse requirement: invalid label key "{key}"')
    return requirements


def matches(labels: dict, requirements) -> bool:
    for key, operator, value in requirements:
        present = key in labels
        if operator == "=" and labels.get(key) != value:
            return False
        if operator == "!=" and present and labels[key] == value:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!" and present:
            return False
    return True


class Watch:
    """One open watch stream: what it selects and where it is."""

    def __init__(self, namespace: str | None, requirements):
        self.namespace = namespace
        self.requirements = requirements
        self.dropped = False

    def selects(self, item: dict | None) -> bool:
        if item is None:
            return False
        if self.namespace is not None and item["metadata"]["namespace"] != self.namespace:
            return False
        return matches(item["metadata"].get("labels") or {}, self.requirements)


class State(EmulatorState):
    def __init__(self, options):
        super().__init__()
        self.options = options
        self.version = 100
        self.namespaces: dict[str, dict] = {}
        self.services: dict[tuple[str, str], dict] = {}
        self.slices: dict[tuple[str, str], dict] = {}
        # (resourceVersion, old object or None, new object or None), oldest first.
        self.history: list[tuple[int, dict | None, dict | None]] = []
        self.compacted = self.version  # versions below this are expired
        self.snapshots: dict[str, tuple[int, list[dict]]] = {}  # continue token -> (version, rest)
        self.watches: list[Watch] = []
        self.forbidden: list[dict] = []  # {"verb", "resource", "namespace"}
        self.faults.update({"bookmark_interval": 60.0, "stall_watch": False, "gone_as_status": False})
        self.create_namespace("default")

    def next_version(self) -> int:
        self.version += 1
        return self.version

    def create_namespace(self, name: str) -> dict:
        item = {"kind": "Namespace", "apiVersion": "v1",
                "metadata": {"name": name, "uid": str(uuid.uuid4()), "resourceVersion": str(self.next_version()),
                             "creationTimestamp": now()},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        self.namespaces[name] = item
        return item

    def record(self, old: dict | None, new: dict | None, version: int):
        self.history.append((version, old, new))
        overflow = len(self.history) - self.options.history
        if overflow > 0:
            self.compacted = self.history[overflow - 1][0] + 1
            del self.history[:overflow]
        self.lock.notify_all()

    def compact(self):
        """Forgets history: a watch from any version before the current one answers 410, as after
        an etcd compaction past it; continue tokens expire too."""
        self.history.clear()
        self.snapshots.clear()
        self.version += 1
        self.compacted = self.version + 1


class Handler(EmulatorHandler):
    def send(self, status_code, body=None, headers=None, content_type=None):
        if isinstance(body, str) and status_code >= 400 and not (body.startswith("{")):
            body = status(status_code, "InternalError" if status_code >= 500 else "BadRequest", body)
        super().send(status_code, body, headers, content_type)

    def route(self, method: str, path: str, raw: bytes):
        try:
            self.authenticate()
            self.api(method, path, raw)
        except APIError as error:
            self.send(error.status, error.body)

    # -- authentication and authorization ---------------------------------------------------

    def user(self) -> str:
        token = self.state.options.token
        header = self.headers.get("Authorization") or ""
        if token is not None and header == f"Bearer {token}":
            return "system:serviceaccount:default:sdctl"
        peer = getattr(self.connection, "getpeercert", None)
        certificate = peer() if peer else None
        if certificate:
            for field in certificate.get("subject", ()):
                for key, value in field:
                    if key == "commonName":
                        return value
        return "system:anonymous"

    def authenticate(self):
        token = self.state.options.token
        header = self.headers.get("Authorization")
        certificate = getattr(self.connection, "getpeercert", lambda: None)()
        if header is not None and header != f"Bearer {token}":
            raise APIError(401, "Unauthorized", "Unauthorized")
        if token is not None and header is None and not certificate:
            raise APIError(401, "Unauthorized", "Unauthorized")

    def authorize(self, verb: str, resource: str, group: str, namespace: str | None):
        for rule in self.state.forbidden:
            if rule.get("verb", verb) != verb or rule.get("resource", resource) != resource:
                continue
            if rule.get("namespace") not in (None, namespace):
                continue
            qualified = f"{resource}.{group}" if group else resource
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            raise APIError(
                403, "Forbidden",
                f'{qualified} is forbidden: User "{self.user()}" cannot {verb} resource "{resource}" '
                f'in API group "{group}"{where}',
                {"group": group, "kind": resource})

    # -- the API ----------------------------------------------------------------------------

    def api(self, method: str, path: str, raw: bytes):
        state = self.state
        match = SLICES.match(path)
        if match or path == ALL_SLICES:
            namespace, name = (match.group(1), match.group(2)) if match else (None, None)
            return self.endpoint_slices(method, namespace, name, raw)
        match = SERVICES.match(path)
        if match:
            namespace, name = match.groups()
            with state.lock:
                if method == "GET" and name:
                    self.authorize("get", "services", "", namespace)
                    item = state.services.get((namespace, name))
                    if item is None:
                        raise not_found("services", name)
                    return self.send(200, item)
                if method == "POST" and not name:
                    self.authorize("create", "services", "", namespace)
                    return self.send(201, self.create_service(namespace, self.body(raw)))
                if method == "DELETE" and name:
                    self.authorize("delete", "services", "", namespace)
                    if state.services.pop((namespace, name), None) is None:
                        raise not_found("services", name)
                    return self.send(200, status(200, "", "", {"name": name, "kind": "services"}))
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        match = NAMESPACES.match(path)
        if match:
            name = match.group(1)
            with state.lock:
                if method == "GET" and name:
                    self.authorize("get", "namespaces", "", None)
                    if name not in state.namespaces:
                        raise not_found("namespaces", name)
                    return self.send(200, state.namespaces[name])
                if method == "POST" and not name:
                    self.authorize("create", "namespaces", "", None)
                    body = self.body(raw)
                    wanted = (body.get("metadata") or {}).get("name") or ""
                    if not NAME.match(wanted):
                        raise APIError(422, "Invalid", f'Namespace "{wanted}" is invalid: metadata.name: Invalid value')
                    if wanted in state.namespaces:
                        raise APIError(409, "AlreadyExists", f'namespaces "{wanted}" already exists')
                    return self.send(201, state.create_namespace(wanted))
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        raise APIError(404, "NotFound", "the server could not find the requested resource")

    def body(self, raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise APIError(400, "BadRequest", "the object provided is unrecognized")
        if not isinstance(body, dict):
            raise APIError(400, "BadRequest", "the object provided is unrecognized")
        return body

    def create_service(self, namespace: str, body: dict) -> dict:
        state = self.state
        if namespace not in state.namespaces:
            raise not_found("namespaces", namespace)
        name = (body.get("metadata") or {}).get("name") or ""
        if not NAME.match(name):
            raise APIError(422, "Invalid", f'Service "{name}" is invalid: metadata.name: Invalid value')
        if (namespace, name) in state.services:
            raise APIError(409, "AlreadyExists", f'services "{name}" already exists')
        item = {"kind": "Service", "apiVersion": "v1",
                "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                             "resourceVersion": str(state.next_version()), "creationTimestamp": now(),
                             "labels": (body.get("metadata") or {}).get("labels") or {}},
                "spec": copy.deepcopy(body.get("spec") or {}), "status": {"loadBalancer": {}}}
        state.services[(namespace, name)] = item
        return item

    def endpoint_slices(self, method: str, namespace: str | None, name: str | None, raw: bytes):
        state = self.state
        if method == "GET" and name is None:
            if (self.param("watch") or "").lower() in ("1", "true"):
                return self.watch(namespace)
            return self.list(namespace)
        if namespace is None:
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        with state.lock:
            if method == "GET":
                self.authorize("get", "endpointslices", GROUP, namespace)
                item = state.slices.get((namespace, name))
                if item is None:
                    raise not_found("endpointslices", name, GROUP)
                return self.send(200, item)
            if method == "POST" and name is None:
                self.authorize("create", "endpointslices", GROUP, namespace)
                return self.send(201, self.store_slice(namespace, None, self.body(raw)))
            if method == "PUT" and name:
                self.authorize("update", "endpointslices", GROUP, namespace)
                return self.send(200, self.store_slice(namespace, name, self.body(raw)))
            if method == "DELETE" and name:
                self.authorize("delete", "endpointslices", GROUP, namespace)
                old = state.slices.pop((namespace, name), None)
                if old is None:
                    raise not_found("endpointslices", name, GROUP)
                version = state.next_version()
                gone = copy.deepcopy(old)
                gone["metadata"]["resourceVersion"] = str(version)
                state.record(old, None, version)
                return self.send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                       "details": {"name": name, "group": GROUP, "kind": "endpointslices",
                                                   "uid": old["metadata"]["uid"]}})
        raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def store_slice(self, namespace: str, name: str | None, body: dict) -> dict:
        """Creates (name None) or replaces an EndpointSlice, validating what a client gets wrong."""
        state = self.state
        if namespace not in state.namespaces:
            raise not_found("namespaces", namespace)
        metadata = body.get("metadata") or {}
        wanted = metadata.get("name")
        if name is None and not wanted and metadata.get("generateName"):
            wanted = metadata["generateName"] + uuid.uuid4().hex[:5]
        if name is not None and wanted != name:
            raise APIError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if not wanted or not NAME.match(wanted):
            raise APIError(422, "Invalid", f'EndpointSlice.discovery.k8s.io "{wanted or ""}" is invalid: '
                                           "metadata.name: Required value: name or generateName is required")
        address_type = body.get("addressType")
        if address_type not in ("IPv4", "IPv6", "FQDN"):
            raise APIError(422, "Invalid", f'EndpointSlice.discovery.k8s.io "{wanted}" is invalid: addressType: '
                                           f'Unsupported value: "{address_type}"')
        endpoints = body.get("endpoints")
        if endpoints is not None and (not isinstance(endpoints, list) or len(endpoints) > 1000):
            raise APIError(422, "Invalid", f'EndpointSlice.discovery.k8s.io "{wanted}" is invalid: endpoints: '
                                           "Too many: must have at most 1000 items")
        for endpoint in endpoints or []:
            addresses = endpoint.get("addresses") if isinstance(endpoint, dict) else None
            if not isinstance(addresses, list) or not 1 <= len(addresses) <= 100:
                raise APIError(422, "Invalid", f'EndpointSlice.discovery.k8s.io "{wanted}" is invalid: '
                                               "endpoints[0].addresses: Required value")
        key = (namespace, wanted)
        old = state.slices.get(key)
        if name is None and old is not None:
            raise APIError(409, "AlreadyExists", f'endpointslices.discovery.k8s.io "{wanted}" already exists')
        if name is not None and old is None:
            raise not_found("endpointslices", name, GROUP)
        given = metadata.get("resourceVersion")
        if old is not None and given and given != old["metadata"]["resourceVersion"]:
            raise APIError(409, "Conflict", f'Operation cannot be fulfilled on endpointslices.discovery.k8s.io '
                                            f'"{wanted}": the object has been modified; please apply your changes '
                                            "to the latest version and try again")
        version = state.next_version()
        item = {
            "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {
                "name": wanted, "namespace": namespace,
                "uid": old["metadata"]["uid"] if old else str(uuid.uuid4()),
                "resourceVersion": str(version),
                "generation": (old["metadata"]["generation"] + 1) if old else 1,
                "creationTimestamp": old["metadata"]["creationTimestamp"] if old else now(),
                "labels": dict(metadata.get("labels") or {}),
            },
            "addressType": address_type,
            "endpoints": copy.deepcopy(endpoints),
            "ports": copy.deepcopy(body.get("ports")),
        }
        if metadata.get("generateName"):
            item["metadata"]["generateName"] = metadata["generateName"]
        state.slices[key] = item
        state.record(old, item, version)
        return item

    # -- list -------------------------------------------------------------------------------

    def list(self, namespace: str | None):
        state = self.state
        requirements = parse_selector(self.param("labelSelector") or "")
        token = self.param("continue")
        try:
            limit = int(self.param("limit") or 0)
        except ValueError:
            raise APIError(400, "BadRequest", "invalid limit")
        with state.lock:
            self.authorize("list", "endpointslices", GROUP, namespace)
            if token:
                snapshot = state.snapshots.pop(token, None)
                if snapshot is None:
                    raise APIError(
                        410, "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can "
                        "start a new list without the continue parameter.")
                version, rest = snapshot
            else:
                version = state.version
                watch = Watch(namespace, requirements)
                rest = [copy.deepcopy(item) for item in sorted(state.slices.values(), key=lambda item: (
                    item["metadata"]["namespace"], item["metadata"]["name"])) if watch.selects(item)]
            page, rest = (rest[:limit], rest[limit:]) if limit > 0 else (rest, [])
            metadata = {"resourceVersion": str(version)}
            if rest:
                token = uuid.uuid4().hex
                state.snapshots[token] = (version, rest)
                metadata["continue"] = token
                metadata["remainingItemCount"] = len(rest)
        for item in page:  # list items carry neither kind nor apiVersion
            item.pop("kind", None)
            item.pop("apiVersion", None)
        self.send(200, {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1", "metadata": metadata,
                        "items": page})

    # -- watch ------------------------------------------------------------------------------

    def watch(self, namespace: str | None):
        state = self.state
        requirements = parse_selector(self.param("labelSelector") or "")
        bookmarks = (self.param("allowWatchBookmarks") or "").lower() in ("1", "true")
        version_text = self.param("resourceVersion") or ""
        try:
            timeout = float(self.param("timeoutSeconds") or 1800)
        except ValueError:
            raise APIError(400, "BadRequest", "invalid timeoutSeconds")
        if version_text and not version_text.isdigit():
            raise APIError(400, "BadRequest", f'invalid resource version "{version_text}"')
        watch = Watch(namespace, requirements)
        with state.lock:
            self.authorize("watch", "endpointslices", GROUP, namespace)
            initial: list[dict] = []
            if version_text in ("", "0"):
                cursor = state.version
                initial = [{"type": "ADDED", "object": copy.deepcopy(item)} for item in sorted(
                    state.slices.values(), key=lambda item: item["metadata"]["name"]) if watch.selects(item)]
                expired = False
            else:
                cursor = int(version_text)
                # Replayable if every change after `cursor` is still in the history.
                expired = cursor < state.compacted - 1
                oldest = state.compacted
            if expired and state.faults["gone_as_status"]:
                raise APIError(410, "Expired", f"too old resource version: {cursor} ({oldest})")
            state.watches.append(watch)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True  # one stream per connection keeps the emulator simple
        try:
            if expired:
                self.chunk({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {cursor} ({oldest})")})
                return self.end_chunks()
            for event in initial:
                self.chunk(event)
            self.stream(watch, cursor, bookmarks, time.monotonic() + timeout)
        except OSError:
            pass  # the client went away
        finally:
            with state.lock:
                state.watches.remove(watch)

    def stream(self, watch: Watch, cursor: int, bookmarks: bool, deadline: float):
        state = self.state
        last_bookmark = time.monotonic()
        while True:
            with state.lock:
                while True:
                    if watch.dropped:
                        # Cut off mid-stream: no terminating chunk, as a dropped connection.
                        self.connection.shutdown(2)
                        return
                    stalled = state.faults["stall_watch"]
                    pending = [] if stalled else [entry for entry in state.history if entry[0] > cursor]
                    interval = float(state.faults["bookmark_interval"])
                    moment = time.monotonic()
                    due = bookmarks and not stalled and moment - last_bookmark >= interval
                    if pending or due or moment >= deadline:
                        break
                    wake = deadline if stalled or not bookmarks else min(deadline, last_bookmark + interval)
                    state.lock.wait(max(0.01, wake - moment))
                # An open watch outlives a compaction, as the API server's do.
                events = []
                for version, old, new in pending:
                    cursor = version
                    before, after = watch.selects(old), watch.selects(new)
                    # A change that moves an object into or out of the selection is ADDED or
                    # DELETED for this watch, as the watch cache filters it.
                    if after:
                        events.append({"type": "MODIFIED" if before else "ADDED", "object": copy.deepcopy(new)})
                    elif before:
                        gone = copy.deepcopy(old)
                        gone["metadata"]["resourceVersion"] = str(version)
                        events.append({"type": "DELETED", "object": gone})
                if due and not events:
                    cursor = max(cursor, state.version)
                    events.append({"type": "BOOKMARK", "object": {
                        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                        "metadata": {"resourceVersion": str(cursor), "creationTimestamp": None},
                        "addressType": "", "endpoints": None}})
            for event in events:
                self.chunk(event)
            if due:
                last_bookmark = time.monotonic()
            if time.monotonic() >= deadline:
                return self.end_chunks()

    def chunk(self, event: dict):
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- the emulator's own switches --------------------------------------------------------

    def control(self, method: str, path: str, body: dict) -> bool:
        state = self.state
        if path == "/_emulator/compact" and method == "POST":
            state.compact()
        elif path == "/_emulator/watches/drop" and method == "POST":
            for watch in state.watches:
                watch.dropped = True
            state.lock.notify_all()
        elif path == "/_emulator/forbid" and method == "POST":
            state.forbidden = list(body.get("rules") or [])
        else:
            return False
        state.lock.notify_all()
        return True

    def extra_stats(self) -> dict:
        return {"watches": len(self.state.watches), "version": self.state.version}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_arguments(parser)
    parser.add_argument("--token", help="the bearer token to require (client certificates are accepted too)")
    parser.add_argument("--history", type=int, default=1000, help="changes kept for watches from a version")
    options = parser.parse_args()
    serve(options, Handler, State(options))


if __name__ == "__main__":
    main()
