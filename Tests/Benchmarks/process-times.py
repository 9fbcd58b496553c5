#!/usr/bin/env python3
"""Times whole processes, interleaved so that a busy moment of a shared machine hits every
command alike: each round runs every command once, in a shuffled order. Prints, per command,
the median and the 10th/90th percentiles of wall time and the largest peak RSS (from wait4).

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
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"process-times: {shlex.join(argv)} exited {process.returncode}: "
                 f"{process.stderr.read().decode(errors='replace').strip()}")
    process.stderr.close()
    return elapsed * 1000, usage.ru_maxrss / 1024


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
