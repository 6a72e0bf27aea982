#!/usr/bin/env bash
# Installs dependencies, builds, and runs everything CI runs (as root):
#   1. every libFuzzer target for 60 s (build-fuzz/, clang; scripts/fuzz.sh);
#   2. the whole test suite under ASan+UBSan (build-asan/, GCC;
#      scripts/test_sanitizers.sh), last, so that ctest's count closes the
#      output.
# The suite's CI build IS the sanitized build: one build of the tree instead
# of two. The normal build (build/, RelWithDebInfo; scripts/build.sh) is what
# the README's examples and the packages use:
#   scripts/test.sh --quick     normal build + the suite (a developer's loop)
#   scripts/test.sh --release   fuzzing, then normal build + the suite
# Time (2 cores, cold ccache as on a fresh CI clone; README, "Fuzzing and
# sanitizers", has the measurements and their basis): apt, fuzz build ~5 min,
# fuzzing 6.5 min, ASan build 17-25 min (1782 CPU-s measured), ASan suite
# 10-17 min: about 50 min plus apt. The normal build is not part of it.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (a CI clone, worktrees): paths relative to the
# tree, the build dir not hashed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
mode=ci
case "${1:-}" in
  --quick) mode=quick ;;
  --release) mode=release ;;
  --sanitizers | "") ;;  # --sanitizers: the old name of the default
  *) echo "usage: scripts/test.sh [--quick|--release]" >&2; exit 2 ;;
esac
scripts/setup.sh
if [ "$mode" != quick ]; then scripts/fuzz.sh; fi
if [ "$mode" = ci ]; then
  exec scripts/test_sanitizers.sh
fi
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
