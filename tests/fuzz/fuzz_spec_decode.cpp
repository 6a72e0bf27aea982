// Fuzz target: the launch-spec decoder warren-init runs on the bytes it reads
// from its control socket (containerizer/launcher/spec.cpp decodeSpec).
// Invariants: no crash or UB on any input; what decodes holds only numbers
// warren-init can act on without further checks (capability and rlimit
// numbers in range, one known CLONE_NEW* bit per namespace); and it
// round-trips: encode(decode(x)) decodes to the same spec, byte for byte.
#include <sched.h>
#include <sys/resource.h>

#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "launcher/spec.hpp"

using namespace warren::launcher;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Spec s;
  if (!decodeSpec(reinterpret_cast<const char*>(data), size, &s)) return 0;
  for (int c : s.capabilities) FUZZ_CHECK(capabilityName(c) != nullptr, "capability %d decoded", c);
  for (const auto& r : s.rlimits) {
    FUZZ_CHECK(r.resource >= 0 && r.resource < RLIM_NLIMITS, "rlimit resource %d decoded", r.resource);
  }
  for (const auto& n : s.namespaces) {
    constexpr uint64_t kKinds = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID |
                                CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWTIME;
    FUZZ_CHECK(n.flag != 0 && (n.flag & (n.flag - 1)) == 0 && (n.flag & kKinds) == n.flag,
               "namespace flags %#llx decoded",
               static_cast<unsigned long long>(n.flag));
  }
  std::string wire = encodeSpec(s);
  Spec again;
  FUZZ_CHECK(decodeSpec(wire.data(), wire.size(), &again), "re-encoded spec does not decode");
  FUZZ_CHECK(encodeSpec(again) == wire, "spec does not round-trip");
  return 0;
}
