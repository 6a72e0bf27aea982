#!/usr/bin/env bash
# The whole test suite under ASan+UBSan: configures the `asan` preset (GCC,
# build-asan/), builds everything and runs ctest there. warren-init is built
# without sanitizers (it is linked statically; see cmake/Sanitizers.cmake);
# the host, the CLI, libwarren, every plugin and every test are sanitized.
# Run as root, after scripts/setup.sh. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_env.sh
start=$(date +%s)
cmake --preset asan >/dev/null
cmake --build build-asan -j"$(nproc)"
built=$(date +%s)
ctest --test-dir build-asan --output-on-failure --timeout 1200 "$@"
echo "test_sanitizers.sh: build $((built - start)) s, ctest $(($(date +%s) - built)) s"
