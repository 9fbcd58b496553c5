"""The Kubernetes figures of docs/benchmarks.md, against the emulator:

  python3 Tests/Emulators/k8s_figures.py SDCTL [--runs N] [--rounds N]

1. A Service of 10,000 endpoints in 100 slices: `sdctl resolve` N times under /usr/bin/time,
   wall time and peak RSS (median and worst).
2. `sdctl bench propagation` (each round one slice written and deleted) on an empty Service,
   then beside that 10,000-endpoint Service, then beside one of 40,000 endpoints in 400
   slices, in the same run: what one changed slice costs against the size of the Service.

Prints one line per figure. No token (the emulator is on loopback).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def request(port, method, path, body):
    data = json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as answer:
        answer.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sdctl")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    emulator = subprocess.Popen([sys.executable, os.path.join(HERE, "k8s_emulator.py"), "--port", "0"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(emulator.stdout.readline().split()[1])
        for service in ("big", "huge", "empty"):
            request(port, "POST", "/api/v1/namespaces/default/services",
                    {"metadata": {"name": service}, "spec": {"ports": [{"name": "http", "port": 80}]}})
        for service, slices in (("big", 100), ("huge", 400)):
            for index in range(slices):
                request(port, "POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
                    "metadata": {"name": f"{service}-{index}", "labels": {"kubernetes.io/service-name": service}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [f"10.{index // 256}.{index % 256}.{e}"],
                                   "conditions": {"ready": True},
                                   "targetRef": {"kind": "Pod", "name": f"{service}-{index}-{e}"}, "zone": "zone-a"}
                                  for e in range(100)],
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                })
        env = dict(os.environ, NO_COLOR="1", SDCTL_HOME="/nonexistent")
        times, peaks = [], []
        for _ in range(options.runs):
            run = subprocess.run(["/usr/bin/time", "-f", "%e %M", options.sdctl, "resolve",
                                  f"k8s://127.0.0.1:{port}/default/big"],
                                 capture_output=True, text=True, env=env)
            lines = run.stdout.splitlines()
            if run.returncode != 0 or len(lines) != 10000:
                sys.exit(f"resolve failed ({run.returncode}, {len(lines)} lines): {run.stderr[-500:]}")
            seconds, kilobytes = run.stderr.strip().splitlines()[-1].split()
            times.append(float(seconds))
            peaks.append(int(kilobytes))
        print(f"resolve, 10,000 endpoints in 100 slices ({options.runs} runs): "
              f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s; "
              f"peak RSS median {statistics.median(peaks) / 1024:.1f} MiB, worst {max(peaks) / 1024:.1f} MiB")
        for service, what in (("empty", "an empty Service"), ("big", "beside 100 slices of 10,000 endpoints"),
                              ("huge", "beside 400 slices of 40,000 endpoints")):
            run = subprocess.run([options.sdctl, "bench", "propagation", f"k8s://127.0.0.1:{port}/default/{service}?port=http",
                                  "--rounds", str(options.rounds), "-o", "json"],
                                 capture_output=True, text=True, env=env, timeout=600)
            if run.returncode != 0:
                sys.exit(f"bench propagation failed: {run.stderr[-500:]}")
            result = json.loads(run.stdout)
            register = result["register"]
            deregister = result.get("deregister", {})
            print(f"bench propagation, one slice written and deleted, {what} ({options.rounds} rounds): "
                  f"register p50 {register['p50_ms']} ms p99 {register.get('p99_ms')} ms; "
                  f"deregister p50 {deregister.get('p50_ms')} ms p99 {deregister.get('p99_ms')} ms")
    finally:
        emulator.stdin.close()
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
