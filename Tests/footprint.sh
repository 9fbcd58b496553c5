#!/usr/bin/env bash
# What sdctl's release binary costs, and what it links: builds it as .ci/install does (static
# Swift libraries, stripped), prints its size, checks it against the 40 MB budget and that no
# Foundation or ICU is in it, then prints the bytes each package adds, from the linker's map
# (sections the stripped binary keeps, after --gc-sections). docs/footprint.md shows a run.
#   Tests/footprint.sh            # build, check, and print the table
# Exits 1 if the binary is over budget or links Foundation or ICU.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=$((40 * 1024 * 1024))
map=$(mktemp)
trap 'rm -f "$map" "$map.stripped"' EXIT
# The map is written by the link; the same build line as .ci/install otherwise, unstripped so
# that nm can look for ICU (the map records what --strip-all would have kept anyway).
source .ci/lib/release-build.sh
build=("${release_build[@]}" -Xlinker "-Map=$map")
"${build[@]}" >&2
binary=$("${build[@]}" --show-bin-path)/sdctl
strip --strip-all -o "$map.stripped" "$binary"
size=$(stat -c %s "$map.stripped")
printf 'sdctl, static, stripped: %d bytes = %.1f MiB (budget 40 MiB)\n' "$size" "$(awk "BEGIN { print $size / 1048576 }")"

status=0
if [ "$size" -gt "$budget" ]; then
    echo "over budget" >&2
    status=1
fi
# ICU's data blob and its C API; Foundation's own module (not FoundationEssentials).
if nm "$binary" | grep -E -q 'icudt[0-9]+_dat|[^_]ucol_open|\$s10Foundation[0-9]|\$s28FoundationInternationalization'; then
    echo "sdctl links Foundation or ICU: see docs/footprint.md" >&2
    status=1
else
    echo "no Foundation, no ICU: only FoundationEssentials"
fi

python3 - "$map" "$(pwd)" "$size" <<'PY'
import collections, os, re, sys

map_path, root, file_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Output sections that take room in the stripped file (not .bss/.tbss, not debug or symbols).
kept = re.compile(r'^(\.text|\.rodata|\.data|\.data\.rel\.ro|\.eh_frame|\.eh_frame_hdr|\.gcc_except_table'
                  r'|\.init_array|\.fini_array|\.tdata|swift5_\w+|\.lrodata|\.ldata|__libc\w*|\.gnu\.\w+)$')
line_re = re.compile(r'^\s+(\S+)?\s*0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$')
out_re = re.compile(r'^(\S+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+')

def owner(path):
    """The package (or runtime library) an input file belongs to."""
    if '/swift_static/' in path or '/lib/swift/' in path:
        name = os.path.basename(path.split('(')[0])
        if 'Foundation' in name:
            return 'Foundation (FoundationEssentials, toolchain)'
        return 'Swift runtime and stdlib (toolchain)'
    m = re.search(r'/\.build/[^/]+/release/([^/]+)\.build/', path)
    if m:
        module = m.group(1)
        for package, modules in packages.items():
            if module in modules:
                return package
        if os.path.isdir(os.path.join(root, 'Sources', module)):
            return 'sdctl: ' + module
        return aliases.get(module, 'other: ' + module)
    if 'zookeeper' in path:
        return 'libzookeeper_mt (Debian)'
    return 'C library and start files (system)'

# Modules whose folder is not named after them.
aliases = {'SystemPackage': 'swift-system'}
# Module -> package, from the checkouts' Sources folders.
packages = collections.defaultdict(set)
checkouts = os.path.join(root, '.build', 'checkouts')
for package in os.listdir(checkouts):
    sources = os.path.join(checkouts, package, 'Sources')
    if os.path.isdir(sources):
        for module in os.listdir(sources):
            packages[package].add(module)

sizes = collections.Counter()
section = None
pending = None
in_discarded = False
for raw in open(map_path, errors='replace'):
    line = raw.rstrip('\n')
    if line.startswith('Discarded input sections'):
        in_discarded = True
        continue
    if line.startswith('Memory map'):
        in_discarded = False
        continue
    if in_discarded:
        continue
    m = out_re.match(line)
    if m:
        section = m.group(1)
        continue
    if pending is not None and line.startswith(' ' * 16):
        line = pending + line
    pending = None
    m = line_re.match(line)
    if not m:
        if re.match(r'^ \S+$', line):
            pending = line  # a long input section name: the rest is on the next line
        continue
    if section and kept.match(section):
        sizes[owner(m.group(3))] += int(m.group(2), 16)

# What the map does not put down to one input file: the merged unwind tables (.eh_frame, 5.5 MB,
# and its index), relocations for a position-independent executable, headers and alignment.
sizes['unwind tables, PIE relocations, headers (linker)'] = max(0, file_size - sum(sizes.values()))
total = file_size
print(f'\n{"what":55} {"MiB":>6} {"share":>6}')
for what, size in sizes.most_common():
    if size >= 100_000:
        print(f'{what:55} {size / 1048576:6.2f} {100 * size / total:5.1f}%')
rest = sum(size for size in sizes.values() if size < 100_000)
print(f'{"everything under 0.1 MiB":55} {rest / 1048576:6.2f} {100 * rest / total:5.1f}%')
print(f'{"the stripped file":55} {total / 1048576:6.2f}')
PY
exit $status
