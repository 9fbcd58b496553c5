#!/usr/bin/env python3
"""The cost of one whole sdctl process against its references (issue #30), each pair
interleaved in one run: what a script calling sdctl in a loop feels.

    python3 Tests/Benchmarks/process-start.py [--sdctl PATH] [--runs 31]

SDCTL defaults to the binary `.ci/install` builds (.build/release/sdctl after
`source .ci/lib/release-build.sh && "${release_build[@]}" -Xlinker --strip-all`). It prints, each from a run of
its own with the reference interleaved (process-times.py, dns-resolve-vs-kdig.py, scaling.py):
- `sdctl --version` beside `/bin/true`;
- `sdctl resolve` of a file-backend service with 10 live instances, beside `/bin/true`;
- `sdctl resolve srv://...` beside `kdig` on the same Knot server and query;
- `sdctl resolve etcd://...` beside `etcdctl get --prefix` (20 keys), and `sdctl resolve
  zk://...` beside `zkCli.sh ls` (20 children), on servers started here.
docs/benchmarks.md ("Process start") keeps a run.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scaling  # noqa: E402  (its Load holds the file backend's instances)


def main():
    args = sys.argv[1:]
    options = {"--sdctl": os.path.join(HERE, "../../.build/release/sdctl"), "--runs": "31"}
    scaling.parse_options(args, options, __doc__)
    sdctl = os.path.abspath(options["--sdctl"])
    runs = options["--runs"]
    if not os.access(sdctl, os.X_OK):
        sys.exit(f"process-start: no sdctl at {sdctl}: build it as .ci/install does")
    directory = tempfile.mkdtemp(prefix="sdctl-start-")
    times = [sys.executable, f"{HERE}/process-times.py", "--runs", runs]

    print(f"== sdctl --version and /bin/true ({runs} runs each, interleaved)", flush=True)
    subprocess.run(times + ["sdctl --version", f"{sdctl} --version", "/bin/true", "/bin/true"], check=True)

    print(f"\n== sdctl resolve, file backend, 10 live instances ({runs} runs each, interleaved)", flush=True)
    load = scaling.Load("file", 10, {}, directory)
    try:
        # SDCTL_HOME from the environment, not through env(1): its exec is no part of sdctl's cost.
        subprocess.run(times + ["sdctl resolve (file)", f"{sdctl} resolve {load.target}", "/bin/true", "/bin/true"],
                       check=True, env=dict(os.environ, SDCTL_HOME=f"{directory}/home"))
    finally:
        load.release()

    print(f"\n== sdctl resolve srv:// and kdig, one Knot server", flush=True)
    subprocess.run([sys.executable, f"{HERE}/dns-resolve-vs-kdig.py", sdctl, "--runs", runs], check=True)

    print(f"\n== sdctl resolve etcd:// and zk://, etcdctl and zkCli.sh, 20 entries", flush=True)
    subprocess.run([sys.executable, f"{HERE}/scaling.py", "--compare-clis", "--sdctl", sdctl, "--size", "20"],
                   check=True)


if __name__ == "__main__":
    main()
