"""Prints the tests a Swift Testing log shows started but never ended.

`.ci/run` runs the tests under a time limit; when a test hangs, the log of a CI run ends in the
middle of other tests' lines and says nothing of the one that hangs. This names it.
Usage: python3 unfinished-tests.py LOG
"""

import re
import sys

STARTED = re.compile(r"^◇ Test (?!case )(.+) started\.$")
ENDED = re.compile(r"^[✔✘] Test (?!case )(.+?)(?: with \d+ test cases?)? (?:passed|failed)\b")

started = []
ended = set()
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        line = line.rstrip("\n")
        if match := STARTED.match(line):
            started.append(match.group(1))
        elif match := ENDED.match(line):
            ended.add(match.group(1))
for name in started:
    if name not in ended:
        print(f"  {name}")
