// The command's seccomp filter: a classic BPF program compiled host-side (by
// the seccomp isolator, with libseccomp) and carried in the spec as bytes.
// warren-init only installs it, as the last step before execve, so nothing
// of its own setup runs under the container's filter.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "init/init.hpp"

namespace warren::init {

std::string applySeccomp(const State& st) {
  const std::string& bpf = st.spec.seccomp_bpf;
  if (bpf.empty()) return "";
  // Copy into aligned storage: the spec's bytes have no alignment guarantee.
  std::vector<sock_filter> insns(bpf.size() / sizeof(sock_filter));
  std::memcpy(insns.data(), bpf.data(), insns.size() * sizeof(sock_filter));
  sock_fprog prog{static_cast<unsigned short>(insns.size()), insns.data()};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    return sysError("install the seccomp filter (" + std::to_string(insns.size()) + " instructions)");
  }
  return "";
}

}  // namespace warren::init
