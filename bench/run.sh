#!/bin/bash
# One command: build warren (tests off, so another folder's half-edited test
# never blocks a benchmark) and the harness, then run every case beside crun,
# runc and the floors. Extra arguments go to the harness, e.g.
#   bench/run.sh --rounds 50 --recover 500
# Needs root and the Debian packages: crun runc conmon busybox-static gnuplot-nox.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${WARREN_BENCH_BUILD:-build-bench}
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root" >&2; exit 2; }
missing=()
for tool in crun:crun runc:runc conmon:conmon busybox:busybox-static gnuplot:gnuplot-nox; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
[ ${#missing[@]} = 0 ] || echo "bench/run.sh: missing (apt-get install ${missing[*]}); those rows are skipped" >&2

# A fresh build dir gets tests off; an existing one keeps its settings.
if [ -f "$BUILD/CMakeCache.txt" ]; then cmake -S . -B "$BUILD" >/dev/null
else cmake -S . -B "$BUILD" -DWARREN_BUILD_TESTS=OFF >/dev/null; fi
# -k: a plugin that does not build (someone's folder mid-edit) only removes
# the runs that need it.
make -C "$BUILD" -k -j"$(nproc)" >"$BUILD/bench-make.log" 2>&1 ||
  echo "bench/run.sh: part of the build failed (see $BUILD/bench-make.log)" >&2
cmake -S bench -B "$BUILD/bench-harness" >/dev/null
make -C "$BUILD/bench-harness" >/dev/null

"$BUILD/bench-harness/warren-bench" \
  --warren "$PWD/$BUILD/bin/warren" --plugin_dir "$PWD/$BUILD/plugins" \
  --init "$PWD/$BUILD/bin/warren-init" --out "$PWD/bench/results" \
  --warrend "$PWD/$BUILD/bin/warrend" --agent "$PWD/$BUILD/bin/warren-agent" \
  --embedded "$PWD/$BUILD/bin/warren_inprocess_bench" "$@"

# The warm path right after: libwarren in one process (plugins loaded once),
# as an embedding agent or a daemon launches. Appended to today's results.
if [ -x "$BUILD/bin/warren_inprocess_bench" ]; then
  rootfs=$(mktemp -d /tmp/warren-inproc-rootfs.XXXXXX)
  mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
  cp /bin/busybox "$rootfs/bin/busybox"
  for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -sf busybox "$rootfs/bin/$app"; done
  out="bench/results/$(date +%F).md"
  {
    echo
    echo "### warm path: libwarren in one process (run right after the table above, not interleaved)"
    echo
    "$BUILD/bin/warren_inprocess_bench" "$rootfs" "$PWD/$BUILD/plugins" "$PWD/$BUILD/bin/warren-init" 30
  } | tee -a "$out"
  rm -rf "$rootfs"
  for c in /sys/fs/cgroup/*/warren-bench/inproc; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
  for c in /sys/fs/cgroup/*/warren-bench; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
  true
fi
