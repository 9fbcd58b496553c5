#!/usr/bin/env bash
# Runs every test module (the library's, the backend contract suite, sdctl's own unit tests) and the end-to-end
# tests of the probes, --exec handlers and the live view (the code that touches C callbacks, threads, sockets, pipes,
# the terminal and raw memory) under AddressSanitizer and ThreadSanitizer, each in its own scratch directory. The
# end-to-end tests run the sanitized sdctl, which inherits the options below: a report fails its test.
#   Tests/sanitizers.sh            both
#   Tests/sanitizers.sh thread     one
# A full build per sanitizer takes about 10 minutes on 2 cores; docs/development.md has timings.
set -euo pipefail
cd "$(dirname "$0")/.."
# Swift Testing's ids are Module.Suite/test(): a module is matched up to its dot, a suite up to its slash. Every module
# but the end-to-end tests is in, so a new backend's tests need no edit here.
filter='^((?!SDCTLEndToEndTests\.)\w+Tests\.|SDCTLEndToEndTests\.(ReadyRegistrationTests|ResolveProbeTests|WatchExecTests|LiveWatchTests|SignalTests|HostileInputEndToEndTests)/)'
for sanitizer in "${@:-address thread}"; do
    for name in $sanitizer; do
        started=$(date +%s)
        # ThreadSanitizer does not see Synchronization.Mutex's futex: swap in a pthread mutex
        # (Sources/Discovery/Internal/ThreadSanitizerMutex.swift).
        # (Package.swift reads SDCTL_TSAN from the environment too: see its last lines.)
        defines=()
        if [ "$name" = thread ]; then defines=(-Xswiftc -DSDCTL_TSAN); export SDCTL_TSAN=1; else unset SDCTL_TSAN; fi
        swift build --build-tests --sanitize="$name" --scratch-path ".build-$name" "${defines[@]}"
        built=$(date +%s)
        # halt_on_error: the first report fails the run; TSan's second_deadlock_stack helps read it.
        ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
            swift test --skip-build --sanitize="$name" --scratch-path ".build-$name" "${defines[@]}" --disable-xctest \
            --filter "$filter"
        echo "sanitizers.sh: $name clean; build $((built - started)) s, tests $(($(date +%s) - built)) s"
    done
done
