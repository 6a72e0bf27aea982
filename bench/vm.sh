#!/bin/bash
# The launch benchmark on a real cgroup-v2-only host: the harness, warren and
# crun (Debian's) run inside the qemu guest of tests/vm (Debian's cloud
# kernel, cgroup2 unified at /sys/fs/cgroup, no v1), interleaved round by
# round as on the host, so the ratios compare warren and crun on v2 in the
# same run. TCG emulation slows both alike: read the ratios, not the times.
#
#   bench/vm.sh [BUILD_DIR] [harness args...]     # default: build, --rounds 10
#
# Writes bench/results/<date>-cgroup-v2-vm.md (the harness's table as the
# guest printed it). Needs root, qemu and the guest kernel (scripts/setup.sh),
# crun, and a built tree (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build="$(cd "${1:-build}" && pwd)"
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--rounds 10)
[ "$(id -u)" = 0 ] || { echo "bench/vm.sh: needs root" >&2; exit 2; }
command -v crun >/dev/null || { echo "bench/vm.sh: crun is not installed (apt-get install crun)" >&2; exit 2; }
cmake -S bench -B "$build/bench-harness" >/dev/null
make -C "$build/bench-harness" >/dev/null
log="$(mktemp /tmp/warren-bench-vm.XXXXXX)"
trap 'rm -f "$log"' EXIT
# top and nested only: groups/chain/memory/recovery take too long emulated.
WARREN_VM_TIMEOUT="${WARREN_VM_TIMEOUT:-1500}" tests/vm/run.sh "$build" \
  "$build/bench-harness/warren-bench --warren $build/bin/warren --plugin_dir $build/plugins \
   --init $build/bin/warren-init --warrend $build/bin/warrend --agent $build/bin/warren-agent \
   --out /tmp/bench-results --only top,nested ${args[*]}" | tee "$log"
out="bench/results/$(date +%F)-cgroup-v2-vm.md"
{
  echo "# warren beside crun on a cgroup-v2-only host (qemu TCG guest, bench/vm.sh)"
  echo
  echo "Emulated CPU: absolute times are many times the host's; the ratios are the result."
  echo
  # The harness's report as the guest printed it, without the console's CRs.
  tr -d '\r' < "$log" | sed -n '/^## warren benchmark/,/^vm: exit/p' | sed '$d'
} > "$out"
echo "bench/vm.sh: wrote $out"
