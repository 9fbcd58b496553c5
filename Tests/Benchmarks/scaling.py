#!/usr/bin/env python3
"""How sdctl's cost grows with the number of instances, on the file backend, ZooKeeper and
etcd: for each size, the wall time and peak RSS of `sdctl resolve` as a whole process, and
the propagation of one change (`sdctl bench propagation`: register -> seen and deregister ->
seen, with the other instances present). Servers are started here on free loopback ports,
with their data in a temporary directory, and stopped at the end.

Instances are held by loaders, as live registrations would be: the file backend's entries
by child processes holding each entry's lock (at most 19,000 a process, under the open-file
limit), ZooKeeper's by zk-load.c (ephemeral sequential children, go-kit's layout), etcd's by
keys put in transactions of 128 through etcd's JSON gateway.

Usage: scaling.py [--sdctl PATH] [--sizes 100,1000,10000,100000] [--backends file,zk,etcd]
       scaling.py --compare-clis [--sdctl PATH] [--size 20]   sdctl resolve beside etcdctl
                                                              get --prefix and zkCli.sh ls"""
import base64
import fcntl
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PER_HOLDER = 19_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, ready, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            sys.exit(f"scaling: {what} not ready within {timeout} s")
        time.sleep(0.1)


class Servers:
    def __init__(self, directory):
        self.directory = directory
        self.processes = []

    def etcd(self):
        client, peer = free_port(), free_port()
        log = open(f"{self.directory}/etcd.log", "w")
        self.processes.append(subprocess.Popen([
            "etcd", "--name", "scaling", "--data-dir", f"{self.directory}/etcd",
            "--listen-client-urls", f"http://127.0.0.1:{client}",
            "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"scaling=http://127.0.0.1:{peer}",
            "--quota-backend-bytes", str(4 << 30)], stdout=log, stderr=log))

        def healthy():
            try:
                return etcd_request(client, "/health", None, method="GET").get("health") == "true"
            except OSError:
                return False
        wait_for("etcd", healthy)
        return client

    def zookeeper(self):
        port = free_port()
        data = f"{self.directory}/zk"
        os.makedirs(data)
        config = f"{self.directory}/zoo.cfg"
        with open(config, "w") as f:
            f.write(f"tickTime=200\ndataDir={data}\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                    "admin.enableServer=false\n4lw.commands.whitelist=*\nmaxSessionTimeout=60000\n")
        log = open(f"{self.directory}/zk.log", "w")
        # A listing of 100,000 children is about 2 MB, past the 1 MB default of jute.maxbuffer.
        self.processes.append(subprocess.Popen([
            "/usr/bin/java", "-Xmx1g", "-XX:+UseSerialGC", "-Djute.maxbuffer=16777216",
            "-Dzookeeper.admin.enableServer=false", "-cp", "/usr/share/java/zookeeper.jar",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", config], stdout=log, stderr=log))

        def serving():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"srvr")
                    return b"Mode: standalone" in s.recv(4096)
            except OSError:
                return False
        wait_for("ZooKeeper", serving)
        return port

    def start(self, backends):
        """The servers `backends` need, and zk-load: their ports and zk-load's path by name."""
        ports = {}
        if "zk" in backends:
            ports["zk"] = self.zookeeper()
            ports["zk-load"] = f"{self.directory}/zk-load"
            subprocess.run(["cc", "-O2", "-DTHREADED", f"{HERE}/zk-load.c", "-lzookeeper_mt", "-lpthread",
                            "-o", ports["zk-load"]], check=True)
        if "etcd" in backends:
            ports["etcd"] = self.etcd()
        return ports

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.wait()


def etcd_request(port, path, body, method="POST"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, json.dumps(body) if body is not None else None)
    answer = connection.getresponse().read()
    connection.close()
    return json.loads(answer)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def address(i):
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:8080"


# --- Loaders -------------------------------------------------------------------------------


def hold_file_entries(directory, start, count):
    """Child process: writes entries start..start+count-1 as the file registrar does (hidden
    name, locked, renamed into place), prints "ready", and holds them until stdin closes."""
    held = []
    for i in range(start, start + count):
        entry = json.dumps({"address": address(i), "id": f"load-{i}", "metadata": {}, "pid": os.getpid(), "tags": [],
                            "registered_at": "2026-11-22T00:00:00.000Z"})
        temporary = f"{directory}/.load-{i}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, entry.encode() + b"\n")
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, f"{directory}/load-{i}.instance")
        held.append(fd)
    print("ready", flush=True)
    sys.stdin.read()


class Load:
    """N instances held in one backend until `release`."""

    def __init__(self, backend, count, servers, directory):
        self.holders = []
        self.release_etcd = None
        if backend == "file":
            self.target = f"file://{directory}/files-{count}/web"
            os.makedirs(f"{directory}/files-{count}/web")
            for start in range(0, count, PER_HOLDER):
                self.holders.append(subprocess.Popen(
                    [sys.executable, __file__, "--hold-files", f"{directory}/files-{count}/web",
                     str(start), str(min(PER_HOLDER, count - start))],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        elif backend == "zk":
            path = f"/scaling/svc{count}"
            self.target = f"zk://127.0.0.1:{servers['zk']}{path}"
            self.holders.append(subprocess.Popen(
                [servers["zk-load"], f"127.0.0.1:{servers['zk']}", path, str(count)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        else:
            port = servers["etcd"]
            prefix = f"/scaling/svc{count}/"
            self.target = f"etcd://127.0.0.1:{port}{prefix}"
            for start in range(0, count, 128):
                operations = [{"request_put": {"key": b64(f"{prefix}load-{i}"), "value": b64(address(i))}}
                              for i in range(start, min(start + 128, count))]
                etcd_request(port, "/v3/kv/txn", {"success": operations})
            end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            self.release_etcd = lambda: etcd_request(port, "/v3/kv/deleterange",
                                                     {"key": b64(prefix), "range_end": b64(end)})
        for holder in self.holders:
            if holder.stdout.readline().strip() != "ready":
                sys.exit(f"scaling: a {backend} loader failed")

    def release(self):
        for holder in self.holders:
            holder.stdin.close()
            holder.wait()
        if self.release_etcd:
            self.release_etcd()


# --- Measurements --------------------------------------------------------------------------


def timed(argv, environment):
    """Wall time in ms, peak RSS in MB (from GNU time: see process-times.py) and stdout."""
    started = time.monotonic()
    process = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=environment)
    elapsed = (time.monotonic() - started) * 1000
    if process.returncode != 0:
        sys.exit(f"scaling: {' '.join(argv)}: {process.stderr.decode(errors='replace').strip()}")
    return elapsed, int(process.stderr.split()[-1]) / 1024, process.stdout


def resolve(sdctl, target, count, environment, runs):
    walls, peak = [], 0
    for _ in range(runs):
        wall, rss, output = timed([sdctl, "resolve", target, "--timeout", "10m"], environment)
        lines = output.count(b"\n")
        if lines != count:
            sys.exit(f"scaling: resolve {target} printed {lines} instances, not {count}")
        walls.append(wall)
        peak = max(peak, rss)
    walls.sort()
    return walls[len(walls) // 2], peak


def propagation(sdctl, target, environment, rounds):
    _, rss, output = timed([sdctl, "bench", "propagation", target, "--rounds", str(rounds), "-o", "json",
                            "--timeout", "10m"], environment)
    figures = json.loads(output)
    return figures["register"]["p50_ms"], figures["deregister"]["p50_ms"], rss


def parse_options(args, options, usage):
    """`--name value` pairs into `options`, whose keys are the names known; exits with `usage`
    on anything else."""
    while args:
        if args[0] not in options or len(args) < 2:
            sys.exit(usage)
        options[args[0]] = args[1]
        args = args[2:]


def main():
    args = sys.argv[1:]
    if args[:1] == ["--hold-files"]:
        hold_file_entries(args[1], int(args[2]), int(args[3]))
        return
    options = {"--sdctl": os.path.join(HERE, "../../.build/release/sdctl"), "--sizes": "100,1000,10000,100000",
               "--backends": "file,zk,etcd", "--size": "20"}
    compare = "--compare-clis" in args
    parse_options([a for a in args if a != "--compare-clis"], options, __doc__)
    sdctl = os.path.abspath(options["--sdctl"])
    directory = tempfile.mkdtemp(prefix="sdctl-scaling-")
    environment = dict(os.environ, SDCTL_HOME=f"{directory}/home")
    servers = Servers(directory)
    try:
        backends = ["zk", "etcd"] if compare else options["--backends"].split(",")
        ports = servers.start(backends)
        if compare:
            compare_clis(sdctl, int(options["--size"]), ports, directory, environment)
            return
        print("| backend | instances | resolve wall (median) | resolve peak RSS | register -> seen p50 |"
              " deregister -> seen p50 | bench peak RSS |")
        print("| --- | --- | --- | --- | --- | --- | --- |", flush=True)
        for backend in backends:
            for count in [int(size) for size in options["--sizes"].split(",")]:
                started = time.monotonic()
                load = Load(backend, count, ports, directory)
                loaded = time.monotonic() - started
                try:
                    runs = 11 if count <= 1000 else 5
                    wall, rss = resolve(sdctl, load.target, count, environment, runs)
                    rounds = 50 if count <= 1000 else (20 if count <= 10_000 else 10)
                    up, down, bench_rss = propagation(sdctl, load.target, environment, rounds)
                    print(f"| {backend} | {count:,} | {wall:.1f} ms | {rss:.1f} MB | {up:.2f} ms |"
                          f" {down:.2f} ms | {bench_rss:.1f} MB |", flush=True)
                    print(f"  ({backend} {count}: loaded in {loaded:.1f} s; {runs} resolves,"
                          f" {rounds} rounds)", file=sys.stderr, flush=True)
                finally:
                    load.release()
    finally:
        servers.stop()
        shutil.rmtree(directory, ignore_errors=True)


def compare_clis(sdctl, count, ports, directory, environment):
    etcd = Load("etcd", count, ports, directory)
    zk = Load("zk", count, ports, directory)
    path = zk.target.split(str(ports["zk"]), 1)[1]
    prefix = etcd.target.split(str(ports["etcd"]), 1)[1]
    # Each pair interleaved on its own: a JVM start (zkCli.sh) busies both cores for half a
    # second and would weigh on whichever command came next. Variables from the environment,
    # not through env(1), whose exec is no part of either command.
    times = [sys.executable, f"{HERE}/process-times.py", "--runs", "31"]
    environment = dict(environment, SDCTL_HOME=directory, ETCDCTL_API="3")
    subprocess.run(times + ["sdctl-etcd", f"{sdctl} resolve {etcd.target}",
                            "etcdctl", f"etcdctl --endpoints 127.0.0.1:{ports['etcd']} get --prefix {prefix}"],
                   check=True, env=environment)
    subprocess.run(times + ["sdctl-zk", f"{sdctl} resolve {zk.target}",
                            "zkCli.sh", f"/usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:{ports['zk']} ls {path}"],
                   check=True, env=environment)
    etcd.release()
    zk.release()


if __name__ == "__main__":
    main()
