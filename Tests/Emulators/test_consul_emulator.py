"""The Consul emulator's fidelity to Consul's HTTP API (PROTOCOLS.md), and py-consul against it.

Run by .ci/run with the pinned py-consul installed:  python -m unittest discover Tests/Emulators
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

import consul  # py-consul, pinned in Tests/Emulators/requirements.txt; missing = a failure

EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "consul_emulator.py")


class Emulator:
    """One emulator process on a free loopback port, stopped by close()."""

    def __init__(self, *arguments: str):
        self.process = subprocess.Popen(
            [sys.executable, EMULATOR, "--port", "0", *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.close()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.port = int(line.split()[1])

    def close(self):
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()

    def request(self, method: str, path: str, body=None, headers=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method, data=data, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())

    def register(self, body, headers=None):
        reply = self.request("PUT", "/v1/agent/service/register", body, headers)
        assert reply.status == 200, reply
        return reply


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def index(self) -> int:
        return int(self.headers["X-Consul-Index"])

    def __repr__(self):
        return f"Reply({self.status}, {self.body[:200]!r})"


def eventually(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met within %.1fs" % timeout)


class EmulatorTestCase(unittest.TestCase):
    arguments: tuple[str, ...] = ()

    def setUp(self):
        self.emulator = Emulator(*self.arguments)
        self.addCleanup(self.emulator.close)

    def health(self, query="", **kwargs):
        return self.emulator.request("GET", f"/v1/health/service/web{query}", **kwargs)


class BlockingQueryTests(EmulatorTestCase):
    def test_index_header_is_never_zero_and_unknown_service_is_empty(self):
        reply = self.emulator.request("GET", "/v1/health/service/nothing")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json, [])
        self.assertGreaterEqual(reply.index, 1)
        self.assertEqual(reply.headers["X-Consul-KnownLeader"], "true")

    def test_stale_reads_carry_the_followers_last_contact_and_others_the_leaders(self):
        # Consul forwards a read to the leader (LastContact 0) unless ?stale lets a follower
        # answer with its own: how long since it last heard from the leader, in milliseconds.
        self.emulator.request("POST", "/_emulator/last-contact", {"milliseconds": 30000})
        self.assertEqual(self.health().headers["X-Consul-LastContact"], "0")
        self.assertEqual(self.health().headers["X-Consul-Effective-Consistency"], "leader")
        stale = self.health("?stale")
        self.assertEqual(stale.headers["X-Consul-LastContact"], "30000")
        self.assertEqual(stale.headers["X-Consul-Effective-Consistency"], "stale")

    def test_an_index_already_passed_answers_at_once(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 80})
        index = self.health().index
        started = time.monotonic()
        reply = self.health(f"?index={index - 1}&wait=10s")
        self.assertLess(time.monotonic() - started, 1)
        self.assertEqual(reply.index, index)

    def test_a_change_ends_the_wait(self):
        index = self.health().index
        replies = []
        waiter = threading.Thread(target=lambda: replies.append(self.health(f"?index={index}&wait=20s")))
        waiter.start()
        time.sleep(0.2)  # the query is parked: only a change can end it before 20 s
        started = time.monotonic()
        self.emulator.register({"Name": "web", "ID": "a", "Port": 80})
        waiter.join(timeout=10)
        self.assertLess(time.monotonic() - started, 2)
        self.assertGreater(replies[0].index, index)
        self.assertEqual([entry["Service"]["ID"] for entry in replies[0].json], ["a"])

    def test_a_timeout_answers_with_the_same_index_within_wait_plus_a_sixteenth(self):
        index = self.health().index
        started = time.monotonic()
        reply = self.health(f"?index={index}&wait=400ms")
        elapsed = time.monotonic() - started
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.index, index)
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 0.4 * 17 / 16 + 0.5)

    def test_bad_wait_and_index_are_400(self):
        for query, reason in [
            ("?index=1&wait=30", b"Invalid wait time"),
            ("?index=1&wait=ten", b"Invalid wait time"),
            ("?index=-1", b"Invalid index"),
            ("?index=x", b"Invalid index"),
            ("?passing=maybe", b"Invalid value for ?passing"),
            ("?stale&consistent", b"Cannot specify ?stale with ?consistent, conflicting semantics."),
        ]:
            reply = self.health(query)
            self.assertEqual((reply.status, reply.body), (400, reason), query)

    def test_passing_drops_entries_with_any_non_passing_check_node_checks_included(self):
        self.emulator.register({"Name": "web", "ID": "ok", "Port": 1, "Check": {"TTL": "30s", "Status": "passing"}})
        self.emulator.register({"Name": "web", "ID": "new", "Port": 2, "Check": {"TTL": "30s"}})
        self.emulator.register({"Name": "web", "ID": "warn", "Port": 3, "Check": {"TTL": "30s", "Status": "warning"}})
        self.assertEqual([e["Service"]["ID"] for e in self.health().json], ["new", "ok", "warn"])
        for query in ("?passing", "?passing=1", "?passing=true"):
            self.assertEqual([e["Service"]["ID"] for e in self.health(query).json], ["ok"], query)
        self.assertEqual(len(self.health("?passing=false").json), 3)
        new_check = self.health().json[0]["Checks"][1]
        self.assertEqual((new_check["CheckID"], new_check["Status"]), ("service:new", "critical"))
        self.emulator.request("POST", "/_emulator/node-check", {"Status": "critical"})
        self.assertEqual(self.health("?passing").json, [])

    def test_several_tags_mean_and(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 1, "Tags": ["prod", "eu"]})
        self.emulator.register({"Name": "web", "ID": "b", "Port": 2, "Tags": ["prod"]})
        self.assertEqual([e["Service"]["ID"] for e in self.health("?tag=prod").json], ["a", "b"])
        self.assertEqual([e["Service"]["ID"] for e in self.health("?tag=prod&tag=eu").json], ["a"])
        self.assertEqual(self.health("?tag=us").json, [])

    def test_an_old_server_filters_by_the_first_tag_only(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 1, "Tags": ["prod", "eu"]})
        self.emulator.register({"Name": "web", "ID": "b", "Port": 2, "Tags": ["prod"]})
        self.emulator.request("POST", "/_emulator/faults", {"first_tag_only": True})
        self.assertEqual([e["Service"]["ID"] for e in self.health("?tag=prod&tag=eu").json], ["a", "b"])

    def test_an_unknown_datacenter_is_500(self):
        reply = self.health("?dc=elsewhere")
        self.assertEqual((reply.status, reply.body), (500, b"No path to datacenter"))
        self.assertEqual(self.health("?dc=dc1").status, 200)

    def test_catalog_and_agent_endpoints(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 80, "Address": "10.0.0.1", "Tags": ["x"], "Meta": {"v": "1"}})
        catalog = self.emulator.request("GET", "/v1/catalog/service/web").json
        self.assertEqual((catalog[0]["ServiceID"], catalog[0]["ServiceAddress"], catalog[0]["ServicePort"]), ("a", "10.0.0.1", 80))
        self.assertEqual(self.emulator.request("GET", "/v1/catalog/services").json, {"consul": [], "web": ["x"]})
        agent = self.emulator.request("GET", "/v1/agent/services").json
        self.assertEqual((agent["a"]["Service"], agent["a"]["Meta"]), ("web", {"v": "1"}))
        self.assertEqual(self.emulator.request("GET", "/v1/agent/service/a").json["Port"], 80)
        self.assertEqual(self.emulator.request("GET", "/v1/agent/service/zzz").status, 404)
        self.assertEqual(self.emulator.request("GET", "/v1/agent/service/register").status, 405)


class AgentTests(EmulatorTestCase):
    arguments = ("--min-deregister-after", "1s", "--reap-interval", "200ms")

    def test_bodies_are_decoded_case_insensitively_with_snake_case(self):
        self.emulator.register({"name": "web", "id": "s1", "port": 8080, "tags": ["a"], "checks": [{"ttl": "10s"}]})
        self.emulator.register({"NAME": "web", "Id": "s2", "Port": 8081, "Check": {"Ttl": "10s", "deregister_critical_service_after": "1m"}})
        ids = {e["Service"]["ID"]: e for e in self.health().json}
        self.assertEqual(set(ids), {"s1", "s2"})
        self.assertEqual(ids["s1"]["Service"]["Tags"], ["a"])
        self.assertEqual(ids["s2"]["Checks"][1]["CheckID"], "service:s2")

    def test_the_id_defaults_to_the_name_and_several_checks_are_numbered(self):
        self.emulator.register({"Name": "web", "Port": 1, "Checks": [{"TTL": "10s"}, {"TTL": "20s"}]})
        checks = self.emulator.request("GET", "/v1/agent/checks").json
        self.assertEqual(set(checks), {"service:web:1", "service:web:2"})

    def test_invalid_registrations_are_400(self):
        for body, reason in [
            ({"ID": "x", "Port": 1}, b"Missing service name"),
            ({"Name": "web", "Check": {"Interval": "10s"}}, b"Invalid check: TTL must be > 0 for TTL checks"),
            ({"Name": "web", "Check": {"HTTP": "http://127.0.0.1:1/"}}, b"Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks"),
            ({"Name": "web", "Meta": {"a.b": "c"}}, b"Invalid Service Meta: Key contains invalid characters: a.b"),
        ]:
            reply = self.emulator.request("PUT", "/v1/agent/service/register", body)
            self.assertEqual((reply.status, reply.body), (400, reason), body)

    def test_a_ttl_check_goes_critical_unless_passed_and_is_reaped_after_deregister_critical_service_after(self):
        self.emulator.register({"Name": "web", "ID": "t", "Port": 1, "Check": {"TTL": "500ms", "Status": "passing", "DeregisterCriticalServiceAfter": "1s"}})
        for _ in range(4):  # passes keep it passing past several TTLs
            time.sleep(0.25)
            self.assertEqual(self.emulator.request("PUT", "/v1/agent/check/pass/service:t?note=alive").status, 200)
        self.assertEqual(len(self.health("?passing").json), 1)
        check = eventually(lambda: [c for c in self.health().json[0]["Checks"] if c["Status"] == "critical"])
        self.assertEqual(check[0]["Output"], "TTL expired")
        eventually(lambda: self.health().json == [], timeout=5)
        self.assertEqual(self.emulator.request("GET", "/v1/agent/checks").json, {})

    def test_checks_can_warn_fail_and_be_updated(self):
        self.emulator.register({"Name": "web", "ID": "t", "Port": 1, "Check": {"TTL": "30s"}})
        status = lambda: self.health().json[0]["Checks"][1]["Status"]
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/check/warn/service:t").status, 200)
        self.assertEqual(status(), "warning")
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/check/fail/service:t").status, 200)
        self.assertEqual(status(), "critical")
        reply = self.emulator.request("PUT", "/v1/agent/check/update/service:t", {"Status": "passing", "Output": "ok"})
        self.assertEqual(reply.status, 200)
        self.assertEqual((status(), self.health().json[0]["Checks"][1]["Output"]), ("passing", "ok"))
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/check/update/service:t", {"Status": "bad"}).status, 400)

    def test_deregister_and_check_updates_of_unknown_ids_are_404(self):
        reply = self.emulator.request("PUT", "/v1/agent/service/deregister/nope")
        self.assertEqual(reply.status, 404)
        self.assertIn(b'Unknown service ID "nope"', reply.body)
        reply = self.emulator.request("PUT", "/v1/agent/check/pass/service:nope")
        self.assertEqual(reply.status, 404)
        self.assertIn(b'Unknown check ID "service:nope"', reply.body)

    def test_deregister_removes_exactly_that_id(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 1, "Check": {"TTL": "10s"}})
        self.emulator.register({"Name": "web", "ID": "b", "Port": 2})
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/service/deregister/a").status, 200)
        self.assertEqual([e["Service"]["ID"] for e in self.health().json], ["b"])
        self.assertEqual(self.emulator.request("GET", "/v1/agent/checks").json, {})

    def test_http_and_tcp_checks_probe_loopback(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
        server.RequestHandlerClass.log_message = lambda *args: None
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        port = server.server_address[1]
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        self.emulator.register({"Name": "web", "ID": "h", "Port": port, "Check": {"HTTP": f"http://127.0.0.1:{port}/", "Interval": "100ms"}})
        self.emulator.register({"Name": "web", "ID": "t", "Port": port, "Check": {"TCP": f"127.0.0.1:{port}", "Interval": "100ms"}})
        self.emulator.register({"Name": "web", "ID": "down", "Port": closed_port, "Check": {"TCP": f"127.0.0.1:{closed_port}", "Interval": "100ms"}})
        eventually(lambda: sorted(e["Service"]["ID"] for e in self.health("?passing").json) == ["h", "t"])
        down = [e for e in self.health().json if e["Service"]["ID"] == "down"][0]
        self.assertEqual(down["Checks"][1]["Status"], "critical")


class ACLTests(EmulatorTestCase):
    arguments = ("--acl-token", "root-secret", "--acl-read-token", "reader")

    def test_writes_need_the_token_and_reads_are_filtered(self):
        body = {"Name": "web", "ID": "a", "Port": 1}
        reply = self.emulator.request("PUT", "/v1/agent/service/register", body)
        self.assertEqual(reply.status, 403)
        self.assertIn(b"Permission denied: anonymous token lacks permission 'service:write'", reply.body)
        reader = {"X-Consul-Token": "reader"}
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/service/register", body, reader).status, 403)
        self.emulator.register(body, {"X-Consul-Token": "root-secret"})
        self.assertEqual(self.health().json, [])  # anonymous: filtered, not refused
        self.assertEqual(len(self.health(headers=reader).json), 1)
        self.assertEqual(len(self.health(headers={"Authorization": "Bearer root-secret"}).json), 1)
        self.assertEqual(len(self.health("?token=reader").json), 1)
        unknown = self.health(headers={"X-Consul-Token": "wrong"})
        self.assertEqual((unknown.status, unknown.body), (403, b"ACL not found"))


class FaultTests(EmulatorTestCase):
    def test_injected_failures_then_recovery(self):
        self.emulator.request("POST", "/_emulator/faults", {"fail_status": 500, "fail_count": 2})
        self.assertEqual([self.health().status for _ in range(3)], [500, 500, 200])

    def test_a_constant_index_answers_at_once(self):
        self.emulator.request("POST", "/_emulator/faults", {"constant_index": 7})
        started = time.monotonic()
        replies = [self.health("?index=7&wait=10s") for _ in range(3)]
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual([reply.index for reply in replies], [7, 7, 7])

    def test_the_index_can_go_backwards(self):
        for number in range(10):
            self.emulator.register({"Name": "web", "ID": f"s{number}", "Port": 1})
        before = self.health().index
        self.emulator.request("POST", "/_emulator/index-backwards")
        self.assertLess(self.health().index, before)
        self.assertLess(self.health(f"?index={before}&wait=100ms").index, before)

    def test_slow_answers(self):
        self.emulator.request("POST", "/_emulator/faults", {"delay": 0.3})
        started = time.monotonic()
        self.assertEqual(self.health().status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)

    def test_a_restart_forgets_every_registration(self):
        self.emulator.register({"Name": "web", "ID": "a", "Port": 1, "Check": {"TTL": "10s"}})
        self.emulator.request("POST", "/_emulator/restart")
        self.assertEqual(self.health().json, [])
        self.assertEqual(self.emulator.request("PUT", "/v1/agent/check/pass/service:a").status, 404)

    def test_refused_connections(self):
        self.emulator.request("POST", "/_emulator/faults", {"refuse": True})
        with self.assertRaises((ConnectionError, urllib.error.URLError, http.client.RemoteDisconnected)):
            self.health()
        self.emulator.request("POST", "/_emulator/faults", {"refuse": False})
        self.assertEqual(self.health().status, 200)

    def test_request_counts(self):
        self.health()
        self.health()
        stats = self.emulator.request("GET", "/_emulator/stats").json
        self.assertEqual(stats["requests"]["GET /v1/health/service/web"], 2)


class PyConsulTests(EmulatorTestCase):
    """py-consul, a client nobody here wrote, agrees with the emulator."""

    arguments = ("--acl-token", "root-secret")

    def test_register_pass_block_and_deregister(self):
        client = consul.Consul(host="127.0.0.1", port=self.emulator.port, token="root-secret")
        self.assertTrue(
            client.agent.service.register(
                "web", service_id="web-1", address="127.0.0.1", port=8080, tags=["prod"],
                meta={"version": "1"}, check=consul.Check.ttl("10s"),
            )
        )
        index, nodes = client.health.service("web", passing=True)
        self.assertEqual(nodes, [])  # a new TTL check starts critical
        self.assertTrue(client.agent.check.ttl_pass("service:web-1", "alive"))
        changed = client.health.service("web", index=index, wait="10s", passing=True, tag="prod")
        self.assertGreater(int(changed[0]), int(index))
        self.assertEqual([(n["Service"]["ID"], n["Service"]["Port"]) for n in changed[1]], [("web-1", 8080)])
        self.assertEqual(client.agent.services()["web-1"]["Meta"], {"version": "1"})

        # A blocking query parked on the current index ends with the deregistration.
        result = []
        waiter = threading.Thread(target=lambda: result.append(client.health.service("web", index=changed[0], wait="20s")))
        waiter.start()
        time.sleep(0.2)
        self.assertTrue(client.agent.service.deregister("web-1"))
        waiter.join(timeout=10)
        self.assertEqual(result[0][1], [])
        self.assertFalse(client.agent.service.deregister("web-1"))  # 404: py-consul answers False

    def test_a_missing_token_is_refused(self):
        client = consul.Consul(host="127.0.0.1", port=self.emulator.port)
        with self.assertRaises(consul.ACLPermissionDenied):
            client.agent.service.register("web", service_id="web-1", port=1)


if __name__ == "__main__":
    unittest.main()
