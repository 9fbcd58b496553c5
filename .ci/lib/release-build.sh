# The release build of sdctl, shared by .ci/install and Tests/footprint.sh: sourced, it sets
# `release_build` to the `swift build` line (without -Xlinker extras of the caller's own).
#
# Static Swift libraries, as before; and since issue #30, a process start near a C program's
# (docs/benchmarks.md, "Process start", says what each step bought):
# - libstdc++, libgcc, libzookeeper_mt, libyaml and zlib linked statically: the dynamic loader
#   no longer opens them or binds their symbols (2,000 symbol lookups, a third of --version's
#   instructions). Debian's -dev packages ship the archives; a directory of links to them, put
#   first on the library path, makes the linker take them instead of the shared ones.
# - not position-independent (-no-pie, as Go links its binaries): 83,000 relative relocations
#   and the copy-on-write faults of the pages they wrote are gone. The libraries, the stack and
#   the heap are still placed at random.
# - --no-export-dynamic: SwiftPM links every executable with --export-dynamic, 33,000 symbols
#   that no one looks up, and the Swift runtime's start-up dladdr() walks them all (1.2M
#   instructions, twice --version's own). It also kept 5 MB of symbol tables (docs/footprint.md).

# Prints the directory of links to the static archives, made under .build; exits 1 naming what
# is missing.
release_static_libraries() {
    local directory=.build/static-libraries missing=() archive path
    mkdir -p "$directory"
    for archive in libstdc++.a libzookeeper_mt.a libyaml.a libz.a; do
        path=$(cc -print-file-name="$archive")
        if [ "$path" = "$archive" ] || [ ! -f "$path" ]; then
            missing+=("$archive")
            continue
        fi
        ln -sf "$path" "$directory/$archive"
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo ".ci/lib/release-build.sh: no static ${missing[*]} (Debian: libstdc++-12-dev, libzookeeper-mt-dev, libyaml-dev, zlib1g-dev)" >&2
        exit 1
    fi
    (cd "$directory" && pwd)
}

release_static_directory=$(release_static_libraries)
release_build=(
    swift build -c release --static-swift-stdlib --product sdctl
    -Xswiftc -Xclang-linker -Xswiftc -no-pie
    -Xswiftc -Xclang-linker -Xswiftc "-L$release_static_directory"
    -Xswiftc -Xclang-linker -Xswiftc -static-libgcc
    -Xlinker --no-export-dynamic
)
