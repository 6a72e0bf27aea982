# Sourced by scripts/test_sanitizers.sh and scripts/fuzz.sh: how ASan, UBSan
# and LeakSanitizer report. Any report fails the process (UB is fatal by
# -fno-sanitize-recover, see cmake/Sanitizers.cmake). Suppressions, each for
# a third-party library with its reason, are in tests/sanitizers/.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=0:check_initialization_order=1:strict_init_order=1:detect_odr_violation=1:allocator_may_return_null=0:print_summary=1"
export LSAN_OPTIONS="suppressions=${_root}/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=${_root}/tests/sanitizers/ubsan.supp"
if command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi
unset _root
