"""The Eureka emulator's fidelity to Eureka's REST API (PROTOCOLS.md), and py-eureka-client
registering, renewing and discovering through it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree

import py_eureka_client  # noqa: F401  pinned in requirements.txt; missing = a failure

HERE = os.path.dirname(os.path.abspath(__file__))
JSON = {"Accept": "application/json"}


def instance(app="WEB", instance_id="10.0.0.2:web:8080", port=8080, **fields):
    body = {
        "instanceId": instance_id,
        "hostName": "host-a",
        "app": app,
        "ipAddr": "10.0.0.2",
        "status": "UP",
        "port": {"$": port, "@enabled": "true"},
        "securePort": {"$": 8443, "@enabled": "false"},
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90},
        "metadata": {"zone": "z1"},
        "vipAddress": "web",
    }
    body.update(fields)
    return {"instance": body}


class Emulator:
    def __init__(self, *arguments: str):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "eureka_emulator.py"), "--port", "0", *arguments],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.close()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = "/eureka"
        for index, argument in enumerate(arguments):
            if argument == "--base-path":
                self.base = arguments[index + 1]

    def close(self):
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()

    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        merged = {"Content-Type": "application/json"} if data else {}
        merged.update(headers or {})
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method, data=data, headers=merged)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def api(self, method, path, body=None, headers=None):
        return self.request(method, self.base + path, body, headers)


class EurekaTestCase(unittest.TestCase):
    arguments: tuple[str, ...] = ()

    def setUp(self):
        self.emulator = Emulator(*self.arguments)
        self.addCleanup(self.emulator.close)

    def register(self, body=None, app="WEB"):
        status, _, reply = self.emulator.api("POST", f"/apps/{app}", body or instance())
        self.assertEqual(status, 204, reply)

    def app(self, app="WEB"):
        status, _, body = self.emulator.api("GET", f"/apps/{app}", headers=JSON)
        return status, (json.loads(body) if status == 200 else None)


class RegistrationTests(EurekaTestCase):
    def test_register_then_read_json(self):
        self.register()
        status, body = self.app()
        self.assertEqual(status, 200)
        application = body["application"]
        self.assertEqual(application["name"], "WEB")
        entry = application["instance"][0]
        self.assertEqual((entry["instanceId"], entry["ipAddr"], entry["status"]), ("10.0.0.2:web:8080", "10.0.0.2", "UP"))
        self.assertEqual(entry["port"], {"$": 8080, "@enabled": "true"})
        self.assertEqual(entry["leaseInfo"]["durationInSecs"], 90)
        self.assertEqual(entry["metadata"], {"zone": "z1"})

    def test_each_missing_field_is_a_400_with_eurekas_reason(self):
        for field, reason in [
            ("instanceId", b"Missing instanceId"),
            ("hostName", b"Missing hostname"),
            ("ipAddr", b"Missing ip address"),
            ("app", b"Missing appName"),
            ("dataCenterInfo", b"Missing dataCenterInfo"),
        ]:
            body = instance()
            del body["instance"][field]
            status, _, reply = self.emulator.api("POST", "/apps/WEB", body)
            self.assertEqual((status, reply), (400, reason), field)
        body = instance(dataCenterInfo={"@class": "x"})
        self.assertEqual(self.emulator.api("POST", "/apps/WEB", body)[2], b"Missing dataCenterInfo Name")
        status, _, reply = self.emulator.api("POST", "/apps/OTHER", instance())
        self.assertEqual((status, reply), (400, b"Mismatched appName, expecting OTHER but was WEB"))

    def test_app_names_are_upper_cased(self):
        self.register(instance(app="web"), app="web")
        self.assertEqual(self.app("WEB")[1]["application"]["name"], "WEB")
        self.assertEqual(self.app("web")[0], 200)

    def test_an_unknown_app_is_404_and_apps_lists_everything(self):
        self.assertEqual(self.app("NOPE")[0], 404)
        status, _, body = self.emulator.api("GET", "/apps", headers=JSON)
        self.assertEqual(json.loads(body)["applications"]["application"], [])
        self.register()
        self.register(instance(instance_id="b", port=8081, status="DOWN"))
        applications = json.loads(self.emulator.api("GET", "/apps", headers=JSON)[2])["applications"]
        self.assertEqual(applications["apps__hashcode"], "DOWN_1_UP_1_")
        self.assertEqual([a["name"] for a in applications["application"]], ["WEB"])

    def test_heartbeat_and_cancel_with_percent_encoded_ids(self):
        self.register()
        self.assertEqual(self.emulator.api("PUT", "/apps/WEB/10.0.0.2%3Aweb%3A8080?status=UP")[0], 200)
        self.assertEqual(self.emulator.api("PUT", "/apps/WEB/nope")[0], 404)
        one = json.loads(self.emulator.api("GET", "/apps/WEB/10.0.0.2%3Aweb%3A8080", headers=JSON)[2])
        self.assertEqual(one["instance"]["instanceId"], "10.0.0.2:web:8080")
        by_id = json.loads(self.emulator.api("GET", "/instances/10.0.0.2%3Aweb%3A8080", headers=JSON)[2])
        self.assertEqual(by_id["instance"]["app"], "WEB")
        self.assertEqual(self.emulator.api("DELETE", "/apps/WEB/10.0.0.2%3Aweb%3A8080")[0], 200)
        self.assertEqual(self.emulator.api("DELETE", "/apps/WEB/10.0.0.2%3Aweb%3A8080")[0], 404)
        self.assertEqual(self.app()[0], 404)

    def test_status_override_and_unknown_statuses(self):
        self.register()
        self.assertEqual(self.emulator.api("PUT", "/apps/WEB/10.0.0.2:web:8080/status?value=OUT_OF_SERVICE")[0], 200)
        self.assertEqual(self.app()[1]["application"]["instance"][0]["status"], "OUT_OF_SERVICE")
        self.register()  # a registration does not clear an override
        self.assertEqual(self.app()[1]["application"]["instance"][0]["status"], "OUT_OF_SERVICE")
        self.assertEqual(self.emulator.api("DELETE", "/apps/WEB/10.0.0.2:web:8080/status")[0], 200)
        self.assertEqual(self.app()[1]["application"]["instance"][0]["status"], "UP")
        self.assertEqual(self.emulator.api("PUT", "/apps/WEB/nope/status?value=DOWN")[0], 404)
        self.register(instance(status="SLEEPING"))
        self.assertEqual(self.app()[1]["application"]["instance"][0]["status"], "UNKNOWN")

    def test_xml_when_accept_lacks_json(self):
        self.register()
        status, headers, body = self.emulator.api("GET", "/apps/WEB", headers={"Accept": "application/xml"})
        self.assertEqual(status, 200)
        self.assertIn("xml", headers["Content-Type"])
        root = ElementTree.fromstring(body)
        self.assertEqual(root.tag, "application")
        entry = root.find("instance")
        self.assertEqual(entry.find("instanceId").text, "10.0.0.2:web:8080")
        self.assertEqual((entry.find("port").text, entry.find("port").get("enabled")), ("8080", "true"))
        self.assertEqual(entry.find("dataCenterInfo").get("class"), "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo")
        self.assertEqual(entry.find("metadata/zone").text, "z1")
        apps = ElementTree.fromstring(self.emulator.api("GET", "/apps")[2])
        self.assertEqual((apps.tag, apps.find("apps__hashcode").text), ("applications", "UP_1_"))

    def test_delta_lists_recent_changes_with_their_action(self):
        self.register()
        self.emulator.api("DELETE", "/apps/WEB/10.0.0.2:web:8080")
        delta = json.loads(self.emulator.api("GET", "/apps/delta", headers=JSON)[2])["applications"]
        actions = [i["actionType"] for a in delta["application"] for i in a["instance"]]
        self.assertEqual(actions, ["ADDED", "DELETED"])


class LeaseTests(EurekaTestCase):
    arguments = ("--eviction-interval", "0.2")

    def test_a_lease_runs_out_without_heartbeats(self):
        self.register(instance(leaseInfo={"renewalIntervalInSecs": 1, "durationInSecs": 1}))
        self.register(instance(instance_id="kept", leaseInfo={"renewalIntervalInSecs": 1, "durationInSecs": 1}))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            self.emulator.api("PUT", "/apps/WEB/kept")
            ids = [i["instanceId"] for i in (self.app()[1] or {"application": {"instance": []}})["application"]["instance"]]
            if ids == ["kept"]:
                break
            time.sleep(0.2)
        self.assertEqual(ids, ["kept"])


class SwitchTests(EurekaTestCase):
    def test_the_read_cache_delays_what_reads_see(self):
        self.emulator.request("POST", "/_emulator/faults", {"read_cache": 1.0})
        self.assertEqual(self.app()[0], 404)  # fills the cache
        self.register()
        self.assertEqual(self.app()[0], 404)
        time.sleep(1.1)
        self.assertEqual(self.app()[0], 200)

    def test_one_instance_is_read_past_the_read_cache(self):
        # InstanceResource reads the registry itself: a new lease shows there at once.
        self.emulator.request("POST", "/_emulator/faults", {"read_cache": 5.0})
        self.assertEqual(self.app()[0], 404)  # fills the cache
        self.register()
        self.assertEqual(self.app()[0], 404)
        status, _, body = self.emulator.api("GET", "/apps/WEB/10.0.0.2:web:8080", headers=JSON)
        self.assertEqual(status, 200, body)

    def test_old_servers_send_one_instance_as_an_object(self):
        self.register()
        self.emulator.request("POST", "/_emulator/faults", {"single_object": True})
        self.assertIsInstance(self.app()[1]["application"]["instance"], dict)

    def test_failures_delays_and_a_restart_that_forgets_every_lease(self):
        self.register()
        self.emulator.request("POST", "/_emulator/faults", {"fail_status": 500, "fail_count": 1})
        self.assertEqual(self.app()[0], 500)
        self.assertEqual(self.app()[0], 200)
        self.emulator.request("POST", "/_emulator/faults", {"delay": 0.3})
        started = time.monotonic()
        self.app()
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.emulator.request("POST", "/_emulator/faults", {"delay": 0})
        self.emulator.request("POST", "/_emulator/restart")
        self.assertEqual(self.emulator.api("PUT", "/apps/WEB/10.0.0.2:web:8080")[0], 404)
        self.assertEqual(self.app()[0], 404)


class NetflixPathTests(EurekaTestCase):
    arguments = ("--base-path", "/eureka/v2", "--user", "admin", "--password", "pw")

    def test_the_netflix_base_path_with_basic_authentication(self):
        credentials = {"Authorization": "Basic " + base64.b64encode(b"admin:pw").decode(), **JSON}
        status, headers, _ = self.emulator.api("GET", "/apps/WEB", headers=JSON)
        self.assertEqual(status, 401)
        self.assertIn("Basic", headers["WWW-Authenticate"])
        self.assertEqual(self.emulator.request("GET", "/eureka/apps/WEB", headers=credentials)[0], 404)
        status, _, _ = self.emulator.api("POST", "/apps/WEB", instance(), credentials)
        self.assertEqual(status, 204)
        self.assertEqual(self.emulator.api("GET", "/apps/WEB", headers=credentials)[0], 200)


PY_EUREKA_CLIENT = """
import asyncio, sys, time
from py_eureka_client.eureka_client import EurekaClient
async def main(port):
    client = EurekaClient(eureka_server=f"http://127.0.0.1:{port}/eureka", app_name="pyapp", instance_id="py-1",
                          instance_host="py-host", instance_ip="127.0.0.3", instance_port=9100,
                          renewal_interval_in_secs=1, duration_in_secs=3)
    await client.start()
    time.sleep(2.5)  # heartbeats and delta fetches run on the client's own thread meanwhile
    apps = client.applications
    print(sorted((a.name, i.instanceId, i.ipAddr, i.port.port, i.status) for a in apps.applications for i in a.instances))
    sys.stdout.flush()
    await client.stop()
asyncio.run(main(int(sys.argv[1])))
"""


class PyEurekaClientTests(EurekaTestCase):
    """py-eureka-client, a client nobody here wrote, registers, renews and discovers."""

    def test_register_renew_discover_cancel(self):
        self.register()
        result = subprocess.run(
            [sys.executable, "-c", PY_EUREKA_CLIENT, str(self.emulator.port)], capture_output=True, text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = result.stdout.strip()
        self.assertIn("('PYAPP', 'py-1', '127.0.0.3', 9100, 'UP')", seen)
        self.assertIn("('WEB', '10.0.0.2:web:8080', '10.0.0.2', 8080, 'UP')", seen)
        stats = json.loads(self.emulator.request("GET", "/_emulator/stats")[2])["requests"]
        self.assertGreaterEqual(stats.get("PUT /eureka/apps/PYAPP/py-1", 0), 2, stats)  # renewed
        self.assertGreaterEqual(stats.get("GET /eureka/apps/delta", 0), 1, stats)  # discovered by delta
        self.assertEqual(self.app("PYAPP")[0], 404)  # stop() cancelled the lease


if __name__ == "__main__":
    unittest.main()
