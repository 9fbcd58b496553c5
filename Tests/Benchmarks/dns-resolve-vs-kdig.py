#!/usr/bin/env python3
"""sdctl resolve against kdig, as whole processes, on the same Knot DNS server.

    python3 Tests/Benchmarks/dns-resolve-vs-kdig.py [SDCTL] [--runs N]

SDCTL defaults to .build/release/sdctl (build it as .ci/install does:
`source .ci/lib/release-build.sh && "${release_build[@]}"`). Starts knotd (Debian's knot)
on a free loopback port in a temporary directory with one zone, then runs
`sdctl resolve srv://127.0.0.1:PORT/_x._tcp.example.test` and
`kdig @127.0.0.1 -p PORT SRV _x._tcp.example.test` alternately, N times each (after 20
warm-up runs each), and prints the median, p10 and p90 wall time of each.
Both do the same work: one UDP query, one SRV answer of 3 records, printed.
"""
import os, shutil, socket, statistics, subprocess, sys, tempfile, time

ZONE = """$ORIGIN example.test.
$TTL 60
@ SOA ns admin 1 3600 600 86400 2
@ NS ns
ns A 127.0.0.1
a A 127.0.0.1
b AAAA ::1
_x._tcp SRV 10 60 8080 a
_x._tcp SRV 10 20 8081 b
_x._tcp SRV 20 0 8082 c.other.test.
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = sys.argv[1:]
    runs = 200
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    sdctl = args[0] if args else ".build/release/sdctl"
    for tool in (sdctl, "/usr/sbin/knotd", shutil.which("kdig")):
        if not tool or not os.access(tool, os.X_OK):
            sys.exit(f"missing {tool or 'kdig'}: build sdctl in release; apt-get install knot knot-dnsutils")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="sdctl-kdig-")
    with open(f"{directory}/example.test.zone", "w") as f:
        f.write(ZONE)
    with open(f"{directory}/knot.conf", "w") as f:
        f.write(f"""server:
    rundir: "{directory}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{directory}"
control:
    listen: "{directory}/knot.sock"
template:
  - id: default
    storage: "{directory}"
    file: "%s.zone"
zone:
  - domain: example.test
""")
    knotd = subprocess.Popen(["/usr/sbin/knotd", "-c", f"{directory}/knot.conf"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        commands = {
            "sdctl resolve": [sdctl, "resolve", f"srv://127.0.0.1:{port}/_x._tcp.example.test"],
            "kdig": ["kdig", "@127.0.0.1", "-p", str(port), "SRV", "_x._tcp.example.test"],
        }
        deadline = time.time() + 10
        while subprocess.run(commands["kdig"] + ["+short"], capture_output=True).stdout.count(b"\n") != 3:
            if time.time() > deadline:
                sys.exit("knotd did not serve the zone within 10 s")
            time.sleep(0.05)
        times = {name: [] for name in commands}
        for index in range(20 + runs):
            for name, command in commands.items():
                started = time.perf_counter()
                result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                elapsed = time.perf_counter() - started
                if result.returncode != 0 or b"8081" not in result.stdout:
                    sys.exit(f"{name} failed: {result.returncode} {result.stderr.decode()}")
                if index >= 20:
                    times[name].append(elapsed * 1000)
        print(f"{runs} runs each, interleaved, wall time per process (ms)")
        print(f"{'command':<16}{'median':>8}{'p10':>8}{'p90':>8}")
        for name, values in times.items():
            values.sort()
            print(f"{name:<16}{statistics.median(values):>8.2f}{values[len(values) // 10]:>8.2f}"
                  f"{values[len(values) * 9 // 10]:>8.2f}")
    finally:
        knotd.kill()
        knotd.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
