// Profile -> classic BPF with libseccomp, exported to bytes (a memfd: the
// libseccomp of Debian 12 exports only to an fd).
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "profile.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::isolators::seccomp {
namespace {

uint32_t toScmp(const Action& a) {
  switch (a.kind) {
    case ActionKind::Allow: return SCMP_ACT_ALLOW;
    case ActionKind::Errno: return SCMP_ACT_ERRNO(a.value);
    case ActionKind::KillThread: return SCMP_ACT_KILL_THREAD;
    case ActionKind::KillProcess: return SCMP_ACT_KILL_PROCESS;
    case ActionKind::Trap: return SCMP_ACT_TRAP;
    case ActionKind::Trace: return SCMP_ACT_TRACE(a.value);
    case ActionKind::Log: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare toOp(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return SCMP_CMP_EQ;
}

Error libError(const std::string& what, int rc) {
  return Error(Code::InvalidArgument, "seccomp: " + what + ": " + std::strerror(-rc), -rc);
}

// "SCMP_ARCH_X86_64" -> libseccomp's "x86_64".
uint32_t archToken(const std::string& name) {
  std::string n = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
  for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return seccomp_arch_resolve_name(n.c_str());
}

}  // namespace

Result<std::string> compileProfile(const Profile& p) {
  const uint32_t def = toScmp(p.default_action);
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(def), seccomp_release);
  if (!ctx) return fail(Code::Internal, "seccomp: libseccomp could not create a filter");
  const uint32_t native = seccomp_arch_native();
  for (const auto& a : p.architectures) {
    uint32_t token = archToken(a);
    if (token == 0) return fail(Code::InvalidArgument, "seccomp: architectures: unknown '" + a + "'");
    if (token == native) continue;
    int rc = seccomp_arch_add(ctx.get(), token);
    if (rc < 0 && rc != -EEXIST) return fail(libError("add architecture '" + a + "'", rc));
  }
  // warren-init sets no_new_privs itself; a binary-tree filter keeps the
  // per-syscall cost logarithmic in the ~400 rules.
  (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (const auto& r : p.rules) {
    const uint32_t act = toScmp(r.action);
    if (act == def) continue;  // libseccomp refuses a rule equal to the default
    std::vector<scmp_arg_cmp> cmps;
    bool same_index = false;
    for (const auto& a : r.args) {
      for (const auto& c : cmps) same_index = same_index || c.arg == a.index;
      cmps.push_back({a.index, toOp(a.op), a.value, a.value_two});
    }
    // Several conditions on one argument cannot all hold (libseccomp refuses
    // such a rule): they are alternatives, one rule each, as runc and crun
    // read them (runtime-tools' default profile lists personality's so).
    std::vector<std::vector<scmp_arg_cmp>> sets;
    if (same_index) {
      for (const auto& c : cmps) sets.push_back({c});
    } else {
      sets.push_back(cmps);
    }
    for (const auto& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // a call no architecture libseccomp knows has
      for (const auto& set : sets) {
        int rc = seccomp_rule_add_array(ctx.get(), act, nr, static_cast<unsigned>(set.size()),
                                        set.empty() ? nullptr : set.data());
        if (rc < 0) return fail(libError("rule for '" + name + "'", rc));
      }
    }
  }
  UniqueFd mem(memfd_create("warren-seccomp-bpf", MFD_CLOEXEC));
  if (!mem) return failErrno("seccomp: memfd for the BPF program");
  int rc = seccomp_export_bpf(ctx.get(), mem.get());
  if (rc < 0) return fail(libError("export the BPF program", rc));
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % 8 != 0) return fail(Code::Internal, "seccomp: exported BPF has a bad size");
  std::string out(static_cast<size_t>(size), '\0');
  if (pread(mem.get(), out.data(), out.size(), 0) != size) return failErrno("seccomp: read the BPF program");
  if (out.size() / 8 > 4096) {
    return fail(Code::InvalidArgument, "seccomp: the profile compiles to " + std::to_string(out.size() / 8) +
                                           " BPF instructions, above the kernel's 4096");
  }
  return out;
}

}  // namespace warren::isolators::seccomp
