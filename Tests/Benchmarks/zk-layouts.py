"""The ZooKeeper layout figures of docs/benchmarks.md, on one real ZooKeeper server:

  python3 Tests/Benchmarks/zk-layouts.py SDCTL [--runs N] [--rounds N] [--count N]

1. `sdctl bench propagation` on the same server, go-kit's layout then Curator's, twice each,
   interleaved: register -> seen and deregister -> seen (one read of the new child either way).
2. N instances (default 10,000) registered by the real Apache Curator (Tests/Peers/curator,
   compiled here with javac): `sdctl resolve` RUNS times under /usr/bin/time, wall time and peak
   RSS (median and worst).

Needs Debian's zookeeper, libcurator-discovery-java, libcurator-recipes-java and a JDK.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "Peers", "curator")
JARS = ["curator-x-discovery", "curator-recipes", "curator-framework", "curator-client", "zookeeper",
        "zookeeper-jute", "jackson-databind", "jackson-core", "jackson-annotations", "guava", "slf4j-api",
        "slf4j-nop"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(port, deadline):
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"srvr")
                if b"Mode:" in s.recv(4096):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("ZooKeeper did not start")


def bench(sdctl, target, rounds, env):
    run = subprocess.run([sdctl, "bench", "propagation", target, "--rounds", str(rounds), "-o", "json"],
                         capture_output=True, text=True, env=env, timeout=600)
    if run.returncode != 0:
        sys.exit(f"bench propagation failed: {run.stderr[-500:]}")
    result = json.loads(run.stdout)
    return result["register"]["p50_ms"], result["deregister"]["p50_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sdctl")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--count", type=int, default=10000)
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sdctl-zk-layouts")
    port = free_port()
    with open(f"{work}/zoo.cfg", "w") as config:
        config.write(f"tickTime=200\ndataDir={work}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                     "admin.enableServer=false\n4lw.commands.whitelist=*\nmaxSessionTimeout=60000\n")
    classpath = ":".join(f"/usr/share/java/{jar}.jar" for jar in JARS)
    server = subprocess.Popen(["java", "-Xmx512m", "-cp", classpath, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                               f"{work}/zoo.cfg"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peer = None
    try:
        wait_serving(port, time.time() + 60)
        subprocess.run(["javac", "-nowarn", "-d", f"{work}/classes", "-cp", classpath, f"{PEER}/CuratorPeer.java",
                        f"{PEER}/org/springframework/cloud/zookeeper/discovery/ZookeeperInstance.java"], check=True)
        env = dict(os.environ, NO_COLOR="1", SDCTL_HOME="/nonexistent")
        connect = f"127.0.0.1:{port}"
        figures = {"gokit": [], "curator": []}
        for _ in range(2):
            for layout in ("gokit", "curator"):
                figures[layout].append(bench(options.sdctl, f"zk://{connect}/bench/{layout}?layout={layout}",
                                             options.rounds, env))
        for layout, pairs in figures.items():
            print(f"bench propagation, {layout} layout ({options.rounds} rounds, 2 runs): register p50 "
                  f"{', '.join(str(r) for r, _ in pairs)} ms; deregister p50 {', '.join(str(d) for _, d in pairs)} ms")
        peer = subprocess.Popen(["java", "-Xmx512m", "-cp", f"{work}/classes:{classpath}", "CuratorPeer", "bulk", connect,
                                 "/services", "big", str(options.count)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = peer.stdout.readline().strip()
        if line != f"registered {options.count}":
            sys.exit(f"the Curator peer said {line!r}")
        times, peaks = [], []
        for _ in range(options.runs):
            run = subprocess.run(["/usr/bin/time", "-f", "%e %M", options.sdctl, "resolve", f"zk://{connect}/services/big"],
                                 capture_output=True, text=True, env=env)
            lines = run.stdout.splitlines()
            if run.returncode != 0 or len(lines) != options.count:
                sys.exit(f"resolve failed ({run.returncode}, {len(lines)} lines): {run.stderr[-500:]}")
            seconds, kilobytes = run.stderr.strip().splitlines()[-1].split()
            times.append(float(seconds))
            peaks.append(int(kilobytes))
        print(f"resolve, {options.count} Curator instances ({options.runs} runs): median {statistics.median(times):.2f} s, "
              f"worst {max(times):.2f} s; peak RSS median {statistics.median(peaks) / 1024:.1f} MiB, "
              f"worst {max(peaks) / 1024:.1f} MiB")
    finally:
        if peer:
            peer.stdin.close()
            peer.wait(timeout=60)
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
