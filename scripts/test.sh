#!/usr/bin/env bash
# Installs dependencies, builds, and runs everything CI runs (as root):
#   1. every libFuzzer target for 60 s (build-fuzz/, scripts/fuzz.sh);
#   2. the normal build (build/) and the whole test suite (ctest), last, so
#      that the suite's own count closes the output.
# `scripts/test.sh --quick` runs only step 2 (a developer's fast loop).
# `scripts/test.sh --sanitizers` also runs the whole suite under ASan+UBSan
# (build-asan/, scripts/test_sanitizers.sh). It is not in CI yet: its cold
# build is ~35 min on 2 cores and it has not been run to completion on the
# merged tree (see README, "Fuzzing and sanitizers").
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (a CI clone, worktrees): paths relative to the
# tree, the build dir not hashed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
quick=0
sanitizers=0
case "${1:-}" in
  --quick) quick=1 ;;
  --sanitizers) sanitizers=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick|--sanitizers]" >&2; exit 2 ;;
esac
scripts/setup.sh
if [ "$quick" = 0 ]; then scripts/fuzz.sh; fi
if [ "$sanitizers" = 1 ]; then scripts/test_sanitizers.sh; fi
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
