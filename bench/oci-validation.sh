#!/bin/bash
# The OCI runtime-spec validation suite (opencontainers/runtime-tools
# `validation/`) against one runtime, by hand (not in CI): it needs root, a
# runtime-tools tree and Go, and takes minutes. Results and the list of
# warren-oci's failures live in docs/oci-validation.md.
#
#   bench/oci-validation.sh build RT_DIR          # runtimetest + validation/*/*.t (offline)
#   bench/oci-validation.sh run RT_DIR RUNTIME OUT_DIR
#
# RT_DIR: a runtime-tools source tree with its vendor/ dir (this machine's Go
# is Debian's 1.19: commit 0105384, the snapshot Debian packages as
# golang-github-opencontainers-runtime-tools-dev; Debian's package has no
# validation/ dir). RUNTIME: the runtime's command (a wrapper script for
# extra flags, e.g. `exec warren-oci --root /tmp/x "$@"`).
#
# The suite runs from its own cgroup (`oci-validation-<pid>` in every v1
# hierarchy): its relative cgroupsPaths ("testdir/cgrouptest/container")
# land below it, never below the caller's cgroup; the tree is removed after
# the run. Each test binary gets 120 s.
set -u

self=$(readlink -f "$0")
cmd=${1:-}
rt=$(readlink -f "${2:-.}")
[ -n "$cmd" ] && [ -d "$rt/validation" ] || { echo "usage: $0 build|run RT_DIR [RUNTIME OUT_DIR]" >&2; exit 2; }
cd "$rt" || exit 1
export GOFLAGS=-mod=vendor GOPROXY=off GOCACHE="$rt/.gocache"

if [ "$cmd" = build ]; then
  CGO_ENABLED=0 go build -tags "netgo osusergo" -ldflags "-extldflags -static" -o runtimetest ./cmd/runtimetest || exit 1
  for f in $(find ./validation/ -name '*.go' | grep -v util | sort); do
    go build -o "${f%.go}.t" "$f" || echo "build failed: $f" >&2
  done
  exit 0
fi

[ "$cmd" = run ] || { echo "unknown command '$cmd'" >&2; exit 2; }
runtime=${3:?RUNTIME}
out=${4:?OUT_DIR}
mkdir -p "$out" || exit 1
cg=oci-validation-$$
hier=(memory cpu cpuacct cpu,cpuacct pids freezer devices blkio cpuset net_cls net_prio net_cls,net_prio perf_event hugetlb)

if [ "${OCI_VALIDATION_INNER:-}" != 1 ]; then
  for h in "${hier[@]}"; do
    [ -d "/sys/fs/cgroup/$h" ] || continue
    mkdir -p "/sys/fs/cgroup/$h/$cg"
    if [ "$h" = cpuset ]; then
      cat /sys/fs/cgroup/cpuset/cpuset.cpus > "/sys/fs/cgroup/cpuset/$cg/cpuset.cpus"
      cat /sys/fs/cgroup/cpuset/cpuset.mems > "/sys/fs/cgroup/cpuset/$cg/cpuset.mems"
    fi
  done
  # The inner run, moved into that cgroup before it starts anything, in a
  # private mount namespace without /sys/fs/cgroup/unified (crun refuses
  # this machine's hybrid layout - a cgroup2 with a controller - otherwise;
  # both runtimes run the same way).
  unshare -m --propagation private bash -c '
    umount /sys/fs/cgroup/unified 2>/dev/null
    for h in "$@"; do [ -d "/sys/fs/cgroup/$h/'"$cg"'" ] && echo $$ > "/sys/fs/cgroup/$h/'"$cg"'/cgroup.procs"; done
    export OCI_VALIDATION_INNER=1; exec "'"$self"'" run "'"$rt"'" "'"$runtime"'" "'"$out"'"' _ "${hier[@]}"
  rc=$?
  left=""
  for h in "${hier[@]}"; do
    d="/sys/fs/cgroup/$h/$cg"
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$d" ] && left="$left $d"
  done
  [ -z "$left" ] || echo "cgroups left:$left" >&2
  # The suite's own cgroupsPaths: /cgrouptest, and testdir/... (crun makes
  # the relative one below the hierarchy's root); and /warren-oci, the parent
  # of warren-oci's default cgroupsPath (/warren-oci/<id>) for the suite's
  # bundles that set none - delete removes <id>, the empty parent stays.
  for h in "${hier[@]}"; do
    for d in "/sys/fs/cgroup/$h/cgrouptest" "/sys/fs/cgroup/$h/testdir" "/sys/fs/cgroup/$h/warren-oci"; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  exit $rc
fi

pass=0 fail=0 skip=0 bins=0 bins_ok=0
: > "$out/summary.txt"
for t in $(find ./validation/ -name '*.t' | sort); do
  name=$(basename "$t" .t)
  bins=$((bins + 1))
  RUNTIME="$runtime" timeout 120 "$t" > "$out/$name.tap" 2> "$out/$name.err"
  rc=$?
  p=$(grep -c -E '^ok [0-9]+' "$out/$name.tap" | tr -d ' ')
  s=$(grep -c -E '^ok [0-9]+.*# (SKIP|skip)' "$out/$name.tap" | tr -d ' ')
  f=$(grep -c -E '^not ok [0-9]+' "$out/$name.tap" | tr -d ' ')
  p=$((p - s))
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
  status=ok
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ] || ! grep -q -E '^1\.\.[0-9]+' "$out/$name.tap"; then
    status="FAIL (exit $rc)"
  else
    bins_ok=$((bins_ok + 1))
  fi
  printf '%-45s %-16s pass %3d fail %3d skip %3d\n' "$name" "$status" "$p" "$f" "$s" | tee -a "$out/summary.txt"
done
printf 'TOTAL: %d/%d test binaries passed; assertions: %d passed, %d failed, %d skipped\n' \
  "$bins_ok" "$bins" "$pass" "$fail" "$skip" | tee -a "$out/summary.txt"
