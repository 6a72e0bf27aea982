#!/usr/bin/env bash
# Installs dependencies, builds, and runs everything CI runs (as root):
#   1. every libFuzzer target for 60 s (build-fuzz/, clang; scripts/fuzz.sh);
#   2. the normal build (build/, RelWithDebInfo; scripts/build.sh) and the
#      whole test suite (ctest), last, so that ctest's count closes the output.
#   scripts/test.sh --quick       normal build + the suite (a developer's loop)
#   scripts/test.sh --sanitizers  fuzzing, then the whole suite under
#                                 ASan+UBSan (build-asan/, GCC;
#                                 scripts/test_sanitizers.sh) instead of step 2
# The sanitized suite is meant to become CI's suite build (one build of the
# tree instead of two). It is not yet: it passed 519 of 534 before the last
# merges (the 15 fixed or excluded with a reason in tests/sanitizers/
# excluded.txt, then rerun), but has not run on the merged tree (warren-oci,
# issue #18's sandboxes) - see README, "Fuzzing and sanitizers". Time (2
# cores, cold ccache; the README has the basis): fuzz build ~5 min, fuzzing
# 6.5 min, ASan build 17-25 min (1782 CPU-s measured), ASan suite 10-17 min.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (a CI clone, worktrees): paths relative to the
# tree, the build dir not hashed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
mode=release
case "${1:-}" in
  --quick) mode=quick ;;
  --sanitizers) mode=ci ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick|--sanitizers]" >&2; exit 2 ;;
esac
scripts/setup.sh
if [ "$mode" != quick ]; then scripts/fuzz.sh; fi
if [ "$mode" = ci ]; then
  exec scripts/test_sanitizers.sh
fi
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
