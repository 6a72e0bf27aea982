#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (root tests
# included) with ctest. This is exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 600
