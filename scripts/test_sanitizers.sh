#!/usr/bin/env bash
# The whole test suite under ASan+UBSan: configures the `asan` preset (GCC,
# build-asan/), builds everything and runs ctest there, last, so that its
# count closes the output. warren-init and the other static helpers are
# built without sanitizers (see cmake/Sanitizers.cmake); the host, the CLI,
# warrend, libwarren, every plugin and every test are sanitized. Tests that
# cannot run sanitized are listed with their reason in
# tests/sanitizers/excluded.txt and left out by name.
# Run as root, after scripts/setup.sh. Called by scripts/test.sh (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_env.sh
start=$(date +%s)
cmake --preset asan >/dev/null
cmake --build build-asan -j"$(nproc)"
echo "test_sanitizers.sh: build-asan built in $(($(date +%s) - start)) s"
# ^(A|B)$ from the names in excluded.txt (comments and blank lines aside).
names=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' tests/sanitizers/excluded.txt | { grep -v '^$' || true; } |
        sed 's/\./\\./g' | paste -sd'|' -)
exclude=()
if [ -n "$names" ]; then
  echo "test_sanitizers.sh: not run sanitized (tests/sanitizers/excluded.txt): ${names//\\/}"
  exclude=(-E "^(${names})\$")
fi
ctest --test-dir build-asan --output-on-failure --timeout 1200 "${exclude[@]}" "$@"
