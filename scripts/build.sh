#!/usr/bin/env bash
# Configures and builds warren into ./build (ccache speeds up rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hits across checkouts (a CI clone, worktrees): paths relative to the
# tree, the build dir not hashed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
