#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (`fuzz` preset: clang-14,
# ASan+UBSan, build-fuzz/), replays their corpora and regressions (ctest),
# then runs each target for FUZZ_SECONDS (default 60) from its seed corpus.
#   scripts/fuzz.sh                  every target
#   scripts/fuzz.sh spec_decode ...  only these
#   FUZZ_SECONDS=600 scripts/fuzz.sh layer_extract
#   FUZZ_SEED=N        libFuzzer's -seed; 0 = a new random seed each run. The
#                      default is 0, and 1 under CI=true: CI's exploration is
#                      then the same on every run of the same commit (its
#                      result does not depend on luck), while exploring with
#                      fresh seeds is a developer's long run by hand.
# A crash fails the run (after every target had its turn); its input is left
# in build-fuzz/fuzz-artifacts/<target>/. Fix the bug, then keep the input as
# tests/fuzz/regressions/<target>/<what-it-found> (replayed by every build).
# Run as root (layer_extract sets up a read-only mount namespace), after
# scripts/setup.sh. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/sanitizer_env.sh
TARGETS="spec_decode volume_spec group_spec image_manifest layer_extract api_request"
seconds=${FUZZ_SECONDS:-60}
if [ "${CI:-}" = true ]; then seed=${FUZZ_SEED:-1}; else seed=${FUZZ_SEED:-0}; fi
targets=${*:-$TARGETS}

cmake --preset fuzz >/dev/null
cmake --build build-fuzz --target warren_fuzzers residue_check -j"$(nproc)"
failed=()
# Replays first; a failure there is reported at the end, after the fuzzing.
ctest --test-dir build-fuzz --output-on-failure --timeout 600 || failed+=("replay(ctest)")

for t in $targets; do
  bin="$root/build-fuzz/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target '$t' (have: $TARGETS)" >&2; exit 2; }
  work="$root/build-fuzz/fuzz-corpus/$t"      # grows across runs; seeds stay in tests/
  art="$root/build-fuzz/fuzz-artifacts/$t"
  mkdir -p "$work" "$art"
  dirs=("$work" "$root/tests/fuzz/corpus/$t")
  [ -d "$root/tests/fuzz/regressions/$t" ] && dirs+=("$root/tests/fuzz/regressions/$t")
  echo "== fuzz $t for ${seconds}s (seed ${seed}; 0: random)"
  # Run from the artifact dir: the only directories layer_extract's jail
  # leaves writable are the current one and libFuzzer's corpus/artifact dirs.
  if (cd "$art" && "$bin" -max_total_time="$seconds" -seed="$seed" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" "${dirs[@]}" >"$art/log" 2>&1); then
    echo "   ok: $(grep -E 'stat::number_of_executed_units' "$art/log" | awk '{print $2}') runs," \
         "$(grep -oE 'cov: [0-9]+' "$art/log" | tail -1)"
  else
    echo "   FAILED: see $art/log (input: $(ls "$art" | grep -E '^(crash|leak|timeout|oom)-' | head -1))"
    tail -40 "$art/log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${failed[*]} failed" >&2
  exit 1
fi
echo "fuzz.sh: every target ran ${seconds}s without a finding"
