"""The Kubernetes emulator's fidelity to the API server (PROTOCOLS.md), checked with the official
`kubernetes` Python client: its writes, its paginated list, its `watch.Watch().stream()` with
resource versions and bookmarks, and its 410 handling behave as the client's documentation
says they do against a real cluster."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

from kubernetes import client, watch  # pinned in requirements.txt; missing = a failure
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "emulator-token"
SELECTOR = "kubernetes.io/service-name=web"


class Emulator:
    def __init__(self, *arguments: str):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "k8s_emulator.py"), "--port", "0", "--token", TOKEN, *arguments],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
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

    def control(self, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_emulator/{path}", data=json.dumps(body or {}).encode(), method="POST")
        urllib.request.urlopen(request, timeout=5).read()

    def api(self, token: str | None = TOKEN) -> client.DiscoveryV1Api:
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{self.port}"
        if token is not None:
            configuration.api_key = {"authorization": token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        return client.DiscoveryV1Api(client.ApiClient(configuration))

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api().api_client)


def endpoint_slice(name: str, service: str = "web", addresses=("10.0.0.1",), ready=True, port=8080):
    return client.V1EndpointSlice(
        metadata=client.V1ObjectMeta(name=name, labels={"kubernetes.io/service-name": service}),
        address_type="IPv4",
        endpoints=[client.V1Endpoint(addresses=[address], conditions=client.V1EndpointConditions(ready=ready),
                                     node_name="node-1", zone="zone-a")
                   for address in addresses],
        ports=[client.DiscoveryV1EndpointPort(name="http", port=port, protocol="TCP")],
    )


class KubernetesEmulatorTests(unittest.TestCase):
    def setUp(self):
        self.emulator = Emulator()
        self.addCleanup(self.emulator.close)
        self.api = self.emulator.api()

    def test_create_get_replace_delete_as_the_client_expects(self):
        created = self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-1"))
        self.assertEqual(created.metadata.name, "web-1")
        self.assertEqual(created.endpoints[0].addresses, ["10.0.0.1"])
        read = self.api.read_namespaced_endpoint_slice("web-1", "default")
        self.assertEqual(read.metadata.resource_version, created.metadata.resource_version)
        read.endpoints[0].addresses = ["10.0.0.9"]
        replaced = self.api.replace_namespaced_endpoint_slice("web-1", "default", read)
        self.assertGreater(int(replaced.metadata.resource_version), int(created.metadata.resource_version))
        # A replace from a stale version is a conflict.
        with self.assertRaises(ApiException) as stale:
            self.api.replace_namespaced_endpoint_slice("web-1", "default", read)
        self.assertEqual(stale.exception.status, 409)
        with self.assertRaises(ApiException) as again:
            self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-1"))
        self.assertEqual(again.exception.status, 409)
        self.assertEqual(json.loads(again.exception.body)["reason"], "AlreadyExists")
        deleted = self.api.delete_namespaced_endpoint_slice("web-1", "default")
        self.assertEqual(deleted["status"], "Success")  # this client version types it as a plain object
        with self.assertRaises(ApiException) as gone:
            self.api.read_namespaced_endpoint_slice("web-1", "default")
        self.assertEqual(gone.exception.status, 404)
        self.assertEqual(json.loads(gone.exception.body)["message"],
                         'endpointslices.discovery.k8s.io "web-1" not found')

    def test_namespaces_and_services(self):
        core = self.emulator.core()
        with self.assertRaises(ApiException) as missing:
            self.api.create_namespaced_endpoint_slice("shop", endpoint_slice("web-1"))
        self.assertEqual(missing.exception.status, 404)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="shop")))
        core.create_namespaced_service("shop", client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(name="http", port=80)])))
        self.assertEqual(core.read_namespaced_service("web", "shop").spec.ports[0].name, "http")
        with self.assertRaises(ApiException) as unknown:
            core.read_namespaced_service("api", "shop")
        self.assertEqual(json.loads(unknown.exception.body)["message"], 'services "api" not found')
        # A list in a namespace that does not exist is empty, not an error, as on a real server.
        self.assertEqual(self.api.list_namespaced_endpoint_slice("nowhere").items, [])

    def test_list_selects_by_label_and_pages_over_one_snapshot(self):
        for index in range(5):
            self.api.create_namespaced_endpoint_slice("default", endpoint_slice(f"web-{index}"))
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("api-0", service="api"))
        first = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR, limit=2)
        self.assertEqual([item.metadata.name for item in first.items], ["web-0", "web-1"])
        self.assertEqual(first.metadata.remaining_item_count, 3)
        # Changes after the first page do not show in the next ones: one consistent snapshot.
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-5"))
        names = [item.metadata.name for item in first.items]
        token = first.metadata._continue
        while token:
            page = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR, limit=2,
                                                           _continue=token)
            self.assertEqual(page.metadata.resource_version, first.metadata.resource_version)
            names += [item.metadata.name for item in page.items]
            token = page.metadata._continue
        self.assertEqual(names, [f"web-{index}" for index in range(5)])

    def test_an_expired_continue_token_is_410(self):
        for index in range(3):
            self.api.create_namespaced_endpoint_slice("default", endpoint_slice(f"web-{index}"))
        first = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR, limit=1)
        self.emulator.control("compact")
        with self.assertRaises(ApiException) as expired:
            self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR, limit=1,
                                                    _continue=first.metadata._continue)
        self.assertEqual(expired.exception.status, 410)
        self.assertEqual(json.loads(expired.exception.body)["reason"], "Expired")

    def test_watch_from_the_lists_version_sees_every_change_in_order(self):
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        listed = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR)
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-1"))
        changed = endpoint_slice("web-0", addresses=("10.0.0.2",))
        self.api.replace_namespaced_endpoint_slice("web-0", "default", changed)
        self.api.delete_namespaced_endpoint_slice("web-1", "default")
        # A slice of another Service never shows; one relabelled out of the selection is DELETED.
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("api-0", service="api"))
        self.api.replace_namespaced_endpoint_slice("web-0", "default", endpoint_slice("web-0", service="other"))
        watcher = watch.Watch()
        events = [(event["type"], event["object"].metadata.name) for event in watcher.stream(
            self.api.list_namespaced_endpoint_slice, "default", label_selector=SELECTOR,
            resource_version=listed.metadata.resource_version, timeout_seconds=1)]
        self.assertEqual(events, [("ADDED", "web-1"), ("MODIFIED", "web-0"), ("DELETED", "web-1"),
                                  ("DELETED", "web-0")])

    def test_watch_without_a_version_starts_with_the_current_state(self):
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-1"))
        watcher = watch.Watch()
        events = [(event["type"], event["object"].metadata.name) for event in watcher.stream(
            self.api.list_namespaced_endpoint_slice, "default", label_selector=SELECTOR, timeout_seconds=1)]
        self.assertEqual(events, [("ADDED", "web-0"), ("ADDED", "web-1")])

    def test_bookmarks_advance_the_clients_resource_version(self):
        self.emulator.control("faults", {"bookmark_interval": 0.2})
        listed = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR)
        # Changes the watch does not select still move the version a bookmark carries.
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("api-0", service="api"))
        watcher = watch.Watch()
        types = []
        for event in watcher.stream(self.api.list_namespaced_endpoint_slice, "default", label_selector=SELECTOR,
                                    resource_version=listed.metadata.resource_version,
                                    allow_watch_bookmarks=True, timeout_seconds=1):
            types.append(event["type"])
        self.assertIn("BOOKMARK", types)
        self.assertEqual(set(types), {"BOOKMARK"})
        self.assertGreater(int(watcher.resource_version), int(listed.metadata.resource_version))

    def test_a_watch_from_an_expired_version_raises_410_as_the_client_documents(self):
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        listed = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR)
        self.emulator.control("compact")
        watcher = watch.Watch()
        with self.assertRaises(ApiException) as expired:
            for _ in watcher.stream(self.api.list_namespaced_endpoint_slice, "default", label_selector=SELECTOR,
                                    resource_version=listed.metadata.resource_version, timeout_seconds=1):
                pass
        self.assertEqual(expired.exception.status, 410)
        self.assertIn("too old resource version", expired.exception.reason)
        # As an answer's status (some API server paths), the client raises the same.
        self.emulator.control("faults", {"gone_as_status": True})
        with self.assertRaises(ApiException) as refused:
            for _ in watch.Watch().stream(self.api.list_namespaced_endpoint_slice, "default",
                                          resource_version=listed.metadata.resource_version, timeout_seconds=1):
                pass
        self.assertEqual(refused.exception.status, 410)

    def test_history_beyond_the_retained_window_is_expired(self):
        self.emulator.close()
        self.emulator = Emulator("--history", "3")
        api = self.emulator.api()
        listed = api.list_namespaced_endpoint_slice("default")
        for index in range(5):
            api.create_namespaced_endpoint_slice("default", endpoint_slice(f"web-{index}"))
        with self.assertRaises(ApiException) as expired:
            for _ in watch.Watch().stream(api.list_namespaced_endpoint_slice, "default",
                                          resource_version=listed.metadata.resource_version, timeout_seconds=1):
                pass
        self.assertEqual(expired.exception.status, 410)

    def test_a_watch_ends_normally_at_its_timeout(self):
        started = time.monotonic()
        events = list(watch.Watch().stream(self.api.list_namespaced_endpoint_slice, "default", timeout_seconds=1))
        self.assertEqual(events, [])
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertLess(time.monotonic() - started, 5)

    def test_a_change_during_the_watch_arrives_at_once(self):
        listed = self.api.list_namespaced_endpoint_slice("default", label_selector=SELECTOR)
        seen = threading.Event()
        result = {}

        def watch_one():
            watcher = watch.Watch()
            for event in watcher.stream(self.api.list_namespaced_endpoint_slice, "default",
                                        label_selector=SELECTOR, resource_version=listed.metadata.resource_version,
                                        timeout_seconds=10):
                result["event"] = (event["type"], event["object"].metadata.name, time.monotonic())
                seen.set()
                watcher.stop()

        thread = threading.Thread(target=watch_one)
        thread.start()
        time.sleep(0.3)  # let the stream open; the event below is what is waited on
        made = time.monotonic()
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        self.assertTrue(seen.wait(5))
        thread.join(10)
        self.assertEqual(result["event"][:2], ("ADDED", "web-0"))
        self.assertLess(result["event"][2] - made, 1.0)

    def test_tokens_and_rbac_refusals_are_worded_as_the_api_server_words_them(self):
        with self.assertRaises(ApiException) as anonymous:
            self.emulator.api(token=None).list_namespaced_endpoint_slice("default")
        self.assertEqual(anonymous.exception.status, 401)
        with self.assertRaises(ApiException) as wrong:
            self.emulator.api(token="wrong").list_namespaced_endpoint_slice("default")
        self.assertEqual(wrong.exception.status, 401)
        self.emulator.control("forbid", {"rules": [{"verb": "watch", "resource": "endpointslices"}]})
        self.api.list_namespaced_endpoint_slice("default")  # list is still allowed
        with self.assertRaises(ApiException) as forbidden:
            for _ in watch.Watch().stream(self.api.list_namespaced_endpoint_slice, "default", timeout_seconds=1):
                pass
        self.assertEqual(forbidden.exception.status, 403)
        body = json.loads(forbidden.exception.body)
        self.assertEqual(body["reason"], "Forbidden")
        self.assertEqual(
            body["message"],
            'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:sdctl" cannot watch '
            'resource "endpointslices" in API group "discovery.k8s.io" in the namespace "default"')

    def test_the_stream_is_chunked_json_lines_and_a_drop_cuts_it_mid_stream(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.emulator.port, timeout=5)
        connection.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=true",
                           headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        line = response.readline()
        self.assertEqual(json.loads(line)["type"], "ADDED")
        self.assertTrue(line.endswith(b"\n"))
        self.emulator.control("watches/drop")
        with self.assertRaises(http.client.IncompleteRead):
            response.read()

    def test_a_stalled_stream_sends_nothing_not_even_bookmarks(self):
        self.emulator.control("faults", {"bookmark_interval": 0.1, "stall_watch": True})
        events = list(watch.Watch().stream(self.api.list_namespaced_endpoint_slice, "default",
                                           allow_watch_bookmarks=True, timeout_seconds=1))
        self.assertEqual(events, [])

    def test_list_items_carry_no_kind_as_on_a_real_server(self):
        self.api.create_namespaced_endpoint_slice("default", endpoint_slice("web-0"))
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.emulator.port}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            headers={"Authorization": f"Bearer {TOKEN}"})
        body = json.loads(urllib.request.urlopen(request, timeout=5).read())
        self.assertEqual(body["kind"], "EndpointSliceList")
        self.assertNotIn("kind", body["items"][0])
        self.assertTrue(body["metadata"]["resourceVersion"].isdigit())

    def test_an_injected_500_is_a_status(self):
        self.emulator.control("faults", {"fail_status": 500, "fail_count": 1})
        with self.assertRaises(ApiException) as failed:
            self.api.list_namespaced_endpoint_slice("default")
        self.assertEqual(failed.exception.status, 500)
        self.assertEqual(json.loads(failed.exception.body)["kind"], "Status")


if __name__ == "__main__":
    unittest.main()
