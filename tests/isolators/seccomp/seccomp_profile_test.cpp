// Profiles without root: the built-in default compiles within the kernel's
// limit and follows its capability guards; OCI JSON errors are one line
// naming the field; the containers-common file on this machine loads.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "profile.hpp"

namespace warren::isolators::seccomp {
namespace {

const std::vector<std::string> kDefaultCaps = effectiveCapabilities({});

bool ruleHas(const Profile& p, const std::string& name, ActionKind kind) {
  for (const auto& r : p.rules) {
    if (r.action.kind != kind || !r.args.empty()) continue;
    for (const auto& n : r.names) if (n == name) return true;
  }
  return false;
}

std::string parseError(const std::string& json) {
  auto p = parseProfile(json, "profile (inline)", kDefaultCaps);
  EXPECT_FALSE(p.has_value()) << json;
  return p ? "" : p.error().message();
}

TEST(SeccompProfile, DefaultCapabilitiesAreCruns) {
  EXPECT_EQ(kDefaultCaps, (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  auto more = effectiveCapabilities({"sys_admin", "CAP_KILL"});
  EXPECT_EQ(more.size(), 4u);
  EXPECT_EQ(more.back(), "CAP_SYS_ADMIN");
}

TEST(SeccompProfile, DefaultDeniesWithEpermAndUnknownWithEnosys) {
  Profile p = defaultProfile(kDefaultCaps);
  EXPECT_EQ(p.default_action, (Action{ActionKind::Errno, ENOSYS}));
  for (const char* n : {"keyctl", "add_key", "request_key", "kexec_load", "bpf", "unshare", "mount",
                        "setns", "open_tree", "userfaultfd", "init_module", "reboot"}) {
    EXPECT_TRUE(ruleHas(p, n, ActionKind::Errno)) << n;
    EXPECT_FALSE(ruleHas(p, n, ActionKind::Allow)) << n;
  }
  for (const char* n : {"read", "execve", "mkdir", "socket", "openat2", "close_range"}) {
    EXPECT_TRUE(ruleHas(p, n, ActionKind::Allow)) << n;
  }
  auto bpf = compileProfile(p);
  ASSERT_TRUE(bpf) << bpf.error().message();
  EXPECT_EQ(bpf->size() % 8, 0u);
  EXPECT_LE(bpf->size() / 8, 4096u);
  std::printf("default profile: %zu BPF instructions\n", bpf->size() / 8);
}

TEST(SeccompProfile, CapabilitiesUnlockTheirCalls) {
  Profile admin = defaultProfile(effectiveCapabilities({"CAP_SYS_ADMIN"}));
  for (const char* n : {"unshare", "mount", "setns", "bpf"}) EXPECT_TRUE(ruleHas(admin, n, ActionKind::Allow)) << n;
  // Keyrings are not namespaced: denied whatever the capabilities.
  EXPECT_TRUE(ruleHas(admin, "keyctl", ActionKind::Errno));
  EXPECT_FALSE(ruleHas(admin, "keyctl", ActionKind::Allow));
  Profile chroot = defaultProfile(effectiveCapabilities({"CAP_SYS_CHROOT"}));
  EXPECT_TRUE(ruleHas(chroot, "chroot", ActionKind::Allow));
  EXPECT_TRUE(ruleHas(defaultProfile(kDefaultCaps), "chroot", ActionKind::Errno));
}

TEST(SeccompProfile, OciJsonParsesAndCompiles) {
  auto p = parseProfile(R"({
      "defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"}
      ]})",
                        "profile (inline)", kDefaultCaps);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->default_action.kind, ActionKind::Allow);
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[0].action, (Action{ActionKind::Errno, 13}));
  EXPECT_EQ(p->rules[1].args.size(), 1u);
  auto bpf = compileProfile(*p);
  ASSERT_TRUE(bpf) << bpf.error().message();
}

// Conditions on the same argument are alternatives (one rule each), as
// runc and crun read them: runtime-tools' default profile allows
// personality(0), (8) and (0xffffffff) in one entry.
TEST(SeccompProfile, ConditionsOnOneArgumentAreAlternatives) {
  auto p = parseProfile(R"({
      "defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}
      ]})",
                        "profile (inline)", kDefaultCaps);
  ASSERT_TRUE(p) << p.error().message();
  auto bpf = compileProfile(*p);
  ASSERT_TRUE(bpf) << bpf.error().message();
  EXPECT_GT(bpf->size(), 0u);
}

TEST(SeccompProfile, MalformedProfilesAreOneLineErrorsNamingTheField) {
  struct Case { const char* json; const char* want; };
  const Case cases[] = {
      {"{", "seccomp profile (inline): JSON: not valid JSON"},
      {"[]", "seccomp profile (inline): JSON: must be an object"},
      {"{}", "seccomp profile (inline): defaultAction: missing"},
      {R"({"defaultAction": "SCMP_ACT_NOPE"})", "seccomp profile (inline): defaultAction: unknown action 'SCMP_ACT_NOPE'"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "bogus": 1})", "seccomp profile (inline): bogus: unknown field"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_DENY"}]})",
       "seccomp profile (inline): syscalls[0].action: unknown action 'SCMP_ACT_DENY'"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})",
       "seccomp profile (inline): syscalls[0].names: missing or empty"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1}]})",
       "seccomp profile (inline): syscalls[0].errnoRet: must be an errno number between 0 and 4095"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
       "seccomp profile (inline): syscalls[0].args[0].index: must be an argument number from 0 to 5"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ERRNO",
          "args": [{"index": 0, "value": 1, "op": "EQ"}]}]})",
       "seccomp profile (inline): syscalls[0].args[0].op: must be one of SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ"},
      {R"({"defaultAction": "SCMP_ACT_NOTIFY"})",
       "seccomp profile (inline): defaultAction: SCMP_ACT_NOTIFY is not supported (warren runs no seccomp agent)"},
      {R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]})",
       "seccomp profile (inline): flags: filter flags are not supported; give none"},
  };
  for (const auto& c : cases) {
    std::string msg = parseError(c.json);
    EXPECT_EQ(msg, c.want) << c.json;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(SeccompProfile, UnknownArchitectureIsAnError) {
  auto p = parseProfile(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})",
                        "profile (inline)", kDefaultCaps);
  ASSERT_TRUE(p);
  auto bpf = compileProfile(*p);
  ASSERT_FALSE(bpf);
  EXPECT_EQ(bpf.error().message(), "seccomp: architectures: unknown 'SCMP_ARCH_VAX'");
}

// The containers-common profile installed here (golang-github-containers-
// common) uses the Docker extensions: archMap, includes/excludes by caps.
TEST(SeccompProfile, ContainersCommonProfileLoads) {
  std::ifstream f("/usr/share/containers/seccomp.json");
  if (!f) GTEST_SKIP() << "skipped: /usr/share/containers/seccomp.json is not installed";
  std::stringstream ss;
  ss << f.rdbuf();
  auto p = parseProfile(ss.str(), "profile '/usr/share/containers/seccomp.json'", kDefaultCaps);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->default_action, (Action{ActionKind::Errno, ENOSYS}));
  EXPECT_FALSE(p->architectures.empty());
  // bpf is allowed only with CAP_SYS_ADMIN: its EPERM rule applies here.
  EXPECT_TRUE(ruleHas(*p, "bpf", ActionKind::Errno));
  EXPECT_FALSE(ruleHas(*p, "bpf", ActionKind::Allow));
  auto bpf = compileProfile(*p);
  ASSERT_TRUE(bpf) << bpf.error().message();
  std::printf("containers-common profile: %zu BPF instructions\n", bpf->size() / 8);
}

}  // namespace
}  // namespace warren::isolators::seccomp
