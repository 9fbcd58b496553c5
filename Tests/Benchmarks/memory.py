#!/usr/bin/env python3
"""Peak memory of `sdctl resolve` and `sdctl watch -o json` with N instances, per backend.

For each backend and size: the peak RSS (GNU time's %M) of `sdctl resolve TARGET` and of
`sdctl watch TARGET -o json --timeout T`, where the watch sees the initial set and then one
change (one instance more), so it holds an old and a new set at once as a real watch does.

file, zk and etcd instances are loaded as scaling.py loads them (live registrations, real
servers). Consul and Eureka cannot be installed here, and their emulators build every answer
per request in Python (O(N^2) at 100,000), so a small server in this script serves answers of
the same shape the emulators write (Tests/Emulators: a health entry with the node, its
serfHealth check and one TTL check; a Eureka instance with its lease, ports and data-centre
info), answering Consul's blocking query as Consul does (X-Consul-Index, then the change).

Consul and Eureka write about 1.1 kB per instance, so 100,000 of them pass the 64 MiB reply
cap: `--shape compact` (the default) serves only the fields sdctl reads, `--shape full` the
emulators' whole shape (use --sizes 50000).

`--change all` makes Consul's and Eureka's second answer change every instance (a new version
in its metadata) besides adding one, so that a watch holds two whole sets at once.

Usage: memory.py [--sdctl PATH] [--sizes 100000] [--backends file,zk,etcd,consul,eureka]
                 [--shape compact|full] [--change one|all]"""
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scaling  # noqa: E402

NODE_ADDRESS = "127.0.0.1"


def consul_compact(i, version="1"):
    """A health entry with what sdctl reads and little else (about 330 bytes): 100,000 of them
    fit the 64 MiB reply cap, which 100,000 entries as Consul writes them (about 1.1 kB) do not."""
    service_id = f"web-{i}"
    return {
        "Node": {"Node": "sdctl-emulator", "Address": NODE_ADDRESS, "Datacenter": "dc1"},
        "Service": {"ID": service_id, "Service": "web", "Tags": ["v1"], "Address": scaling.address(i).split(":")[0],
                    "Meta": {"version": version}, "Port": 8080, "Weights": {"Passing": 1, "Warning": 1}},
        "Checks": [{"CheckID": f"service:{service_id}", "Status": "passing", "ServiceID": service_id}],
    }


def eureka_compact(i, version="1"):
    """An instance with what sdctl reads and little else (about 250 bytes; see consul_compact)."""
    host = scaling.address(i).split(":")[0]
    return {"instanceId": f"web-{i}", "hostName": host, "app": "WEB", "ipAddr": host, "status": "UP",
            "port": {"$": 8080, "@enabled": "true"}, "securePort": {"$": 7002, "@enabled": "false"},
            "dataCenterInfo": {"name": "MyOwn"}, "metadata": {"version": version}, "vipAddress": "web"}


def consul_entry(i):
    service_id = f"web-{i}"
    return {
        "Node": {
            "ID": "4f3c9a6e-7d1b-4a52-9c3e-2b8f0d6a1e57", "Node": "sdctl-emulator", "Address": NODE_ADDRESS,
            "Datacenter": "dc1",
            "TaggedAddresses": {"lan": NODE_ADDRESS, "lan_ipv4": NODE_ADDRESS, "wan": NODE_ADDRESS,
                                "wan_ipv4": NODE_ADDRESS},
            "Meta": {"consul-network-segment": ""}, "CreateIndex": 5, "ModifyIndex": 5,
        },
        "Service": {
            "ID": service_id, "Service": "web", "Tags": ["v1"], "Address": scaling.address(i).split(":")[0],
            "Meta": {"version": "1"}, "Port": 8080, "Weights": {"Passing": 1, "Warning": 1},
            "EnableTagOverride": False, "Proxy": {"Mode": "", "MeshGateway": {}, "Expose": {}},
            "Connect": {}, "PeerName": "", "CreateIndex": 20 + i, "ModifyIndex": 20 + i,
        },
        "Checks": [
            {"Node": "sdctl-emulator", "CheckID": "serfHealth", "Name": "Serf Health Status",
             "Status": "passing", "Notes": "", "Output": "Agent alive and reachable", "ServiceID": "",
             "ServiceName": "", "ServiceTags": [], "Type": "", "CreateIndex": 5, "ModifyIndex": 5},
            {"Node": "sdctl-emulator", "CheckID": f"service:{service_id}", "Name": "Service 'web' check",
             "Status": "passing", "Notes": "", "Output": "", "ServiceID": service_id, "ServiceName": "web",
             "ServiceTags": ["v1"], "Type": "ttl", "Interval": "", "Timeout": "", "ExposedPort": 0,
             "Definition": {}, "CreateIndex": 20 + i, "ModifyIndex": 20 + i},
        ],
    }


def eureka_instance(i):
    host = scaling.address(i).split(":")[0]
    return {
        "instanceId": f"web-{i}", "hostName": host, "app": "WEB", "ipAddr": host, "status": "UP",
        "overriddenStatus": "UNKNOWN", "port": {"$": 8080, "@enabled": "true"},
        "securePort": {"$": 7002, "@enabled": "false"}, "countryId": 1,
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90, "registrationTimestamp": 1764720000000,
                      "lastRenewalTimestamp": 1764720000000, "evictionTimestamp": 0,
                      "serviceUpTimestamp": 1764720000000},
        "metadata": {"@class": "java.util.Collections$EmptyMap"}, "homePageUrl": "", "statusPageUrl": "",
        "healthCheckUrl": "", "vipAddress": "web", "secureVipAddress": "web",
        "isCoordinatingDiscoveryServer": "false", "lastUpdatedTimestamp": "1764720000000",
        "lastDirtyTimestamp": "1764720000000", "actionType": "ADDED",
    }


class AnswerServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Serves `before` (N instances) and, to a watcher's next request, `after` (N + 1)."""
    daemon_threads = True

    def __init__(self, backend, count, shape, change="one"):
        super().__init__(("127.0.0.1", 0), AnswerHandler)
        self.backend = backend
        # The change: one instance more, or (change == "all", compact shape) one more and a new
        # version on every instance, so that nothing of the first set can be kept.
        version = "2" if change == "all" else "1"
        if backend == "consul":
            make = consul_entry if shape == "full" else consul_compact
            self.before = json.dumps([make(i) for i in range(count)]).encode()
            self.after = json.dumps([make(i, version) if shape != "full" else make(i)
                                     for i in range(count + 1)]).encode()
        else:
            make = eureka_instance if shape == "full" else eureka_compact
            self.before = json.dumps({"application": {"name": "WEB", "instance": [
                make(i) for i in range(count)]}}).encode()
            self.after = json.dumps({"application": {"name": "WEB", "instance": [
                make(i, version) if shape != "full" else make(i) for i in range(count + 1)]}}).encode()
        self.eureka_reads = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def target(self):
        port = self.server_address[1]
        if self.backend == "consul":
            return f"consul://127.0.0.1:{port}/web"
        return f"eureka://127.0.0.1:{port}/eureka/apps/WEB?interval=1s"

    def reset(self):
        with self.lock:
            self.eureka_reads = 0


class AnswerHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        server = self.server
        if server.backend == "consul":
            if url.path != "/v1/health/service/web":
                return self.reply(404, b"", {})
            index = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)).get("index")
            if index is None:
                return self.reply(200, server.before, {"X-Consul-Index": "100"})
            if index == "100":
                time.sleep(1)  # the change arrives a second into the blocking query
                return self.reply(200, server.after, {"X-Consul-Index": "101"})
            time.sleep(60)  # nothing more changes: block until the watch's own --timeout
            return self.reply(200, server.after, {"X-Consul-Index": "101"})
        if url.path != "/eureka/apps/WEB":
            return self.reply(404, b"", {})
        with server.lock:
            server.eureka_reads += 1
            first = server.eureka_reads == 1
        self.reply(200, server.before if first else server.after, {})

    def reply(self, status, body, headers):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the watch ended (its --timeout) while a blocking query was open


def peak(argv, environment, accept):
    """Peak RSS in MB and stdout of one run; exits unless its exit code is in `accept`."""
    process = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=environment)
    if process.returncode not in accept:
        sys.exit(f"memory: {' '.join(argv)} exited {process.returncode}: "
                 f"{process.stderr.decode(errors='replace').strip()[-400:]}")
    return int(process.stderr.split()[-1]) / 1024, process.stdout


def main():
    options = {"--sdctl": os.path.join(HERE, "../../.build/release/sdctl"), "--sizes": "100000",
               "--backends": "file,zk,etcd,consul,eureka", "--shape": "compact", "--change": "one"}
    scaling.parse_options(sys.argv[1:], options, __doc__)
    sdctl = os.path.abspath(options["--sdctl"])
    backends = options["--backends"].split(",")
    directory = tempfile.mkdtemp(prefix="sdctl-memory-")
    environment = dict(os.environ, SDCTL_HOME=f"{directory}/home")
    servers = scaling.Servers(directory)
    try:
        ports = servers.start(backends)
        print("| backend | instances | answer size | resolve peak RSS | watch peak RSS | watch / resolve |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |", flush=True)
        for backend in backends:
            for count in [int(size) for size in options["--sizes"].split(",")]:
                measure(backend, count, sdctl, ports, directory, environment, options["--shape"],
                        options["--change"])
    finally:
        servers.stop()
        shutil.rmtree(directory, ignore_errors=True)


def measure(backend, count, sdctl, ports, directory, environment, shape, change):
    answer, load, timer, registration = None, None, None, []
    if backend in ("consul", "eureka"):
        answer = AnswerServer(backend, count, shape, change)
        target, size = answer.target, f"{len(answer.before) / 1e6:.1f} MB"
    else:
        load = scaling.Load(backend, count, ports, directory)
        target, size = load.target, ""
    try:
        resolve_rss, output = peak([sdctl, "resolve", target, "--timeout", "5m"], environment, {0})
        printed = output.count(b"\n")
        if printed != count:
            sys.exit(f"memory: resolve {target} printed {printed} instances, not {count}")
        if answer:
            answer.reset()
        else:
            # One more instance a few seconds into the watch, as the answer servers above serve.
            timer = threading.Timer(3, lambda: registration.append(subprocess.Popen(
                [sdctl, "register", target, "192.0.2.1:9"], env=environment, stdout=subprocess.DEVNULL)))
            timer.start()
        watch_rss, output = peak([sdctl, "watch", target, "-o", "json", "--timeout", "30s"], environment,
                                 {0, 124})
        events = [json.loads(line) for line in output.splitlines() if line.startswith(b"{")]
        sets = [len(event.get("instances", [])) for event in events]
        if count not in sets or count + 1 not in sets:
            sys.exit(f"memory: watch {target} did not see {count} then {count + 1} instances: {sets}")
        print(f"| {backend} | {count:,} | {size} | {resolve_rss:.1f} MB | {watch_rss:.1f} MB |"
              f" {watch_rss / resolve_rss:.2f}x |", flush=True)
    finally:
        if timer:
            timer.join()
        for process in registration:
            process.terminate()
            process.wait()
        if answer:
            answer.shutdown()
            answer.server_close()
        if load:
            load.release()


if __name__ == "__main__":
    main()
