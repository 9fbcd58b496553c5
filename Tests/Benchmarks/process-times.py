#!/usr/bin/env python3
"""Times whole processes, interleaved so that a busy moment of a shared machine hits every
command alike: each round runs every command once, in a shuffled order. Prints, per command,
the median and the 10th/90th percentiles of wall time and the largest peak RSS (GNU time).

Usage: process-times.py [--runs N] LABEL 'COMMAND ...' [LABEL 'COMMAND ...' ...]
       process-times.py --runs 31 sdctl 'sdctl resolve etcd://127.0.0.1:2379/svc/' \\
                                  etcdctl 'etcdctl get --prefix /svc/'
A command that fails (non-zero exit) stops the run with its output."""
import os
import random
import shlex
import subprocess
import sys
import time


def run(argv):
    """Wall time in ms and peak RSS in MB of one run. The RSS comes from GNU time, which forks
    from a small process: the kernel counts the memory of the process that forked a child in
    that child's peak, so measured from here every command would read at least this
    interpreter's size. Both commands pay time's own start alike."""
    started = time.monotonic()
    process = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        sys.exit(f"process-times: {shlex.join(argv)} exited {process.returncode}: "
                 f"{process.stderr.decode(errors='replace').strip()}")
    return elapsed * 1000, int(process.stderr.split()[-1]) / 1024


def main():
    args = sys.argv[1:]
    runs = 31
    if args[:1] == ["--runs"]:
        runs = int(args[1])
        args = args[2:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    commands = [(args[i], shlex.split(args[i + 1])) for i in range(0, len(args), 2)]
    for _, argv in commands:  # warm the page cache
        run(argv)
    samples = {label: [] for label, _ in commands}
    for _ in range(runs):
        order = commands[:]
        random.shuffle(order)
        for label, argv in order:
            samples[label].append(run(argv))
    width = max(len(label) for label, _ in commands)
    for label, _ in commands:
        wall = sorted(ms for ms, _ in samples[label])
        rss = max(mb for _, mb in samples[label])
        print(f"{label:<{width}}  median {wall[len(wall) // 2]:7.2f} ms  "
              f"p10 {wall[len(wall) // 10]:7.2f}  p90 {wall[len(wall) * 9 // 10]:7.2f}  "
              f"peak RSS {rss:6.1f} MB  ({runs} runs)")


if __name__ == "__main__":
    main()
