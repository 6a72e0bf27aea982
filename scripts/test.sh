#!/usr/bin/env bash
# Installs dependencies, builds, and runs everything CI runs (as root):
#   1. the normal build (build/) and the whole test suite (ctest);
#   2. the whole suite again under ASan+UBSan (build-asan/, scripts/test_sanitizers.sh);
#   3. every libFuzzer target for 60 s (build-fuzz/, scripts/fuzz.sh).
# `scripts/test.sh --quick` stops after step 1 (a developer's fast loop).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (a CI clone, worktrees): paths relative to the
# tree, the build dir not hashed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
quick=0
if [ "${1:-}" = --quick ]; then quick=1; fi
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
if [ "$quick" = 1 ]; then exit 0; fi
scripts/test_sanitizers.sh
scripts/fuzz.sh
