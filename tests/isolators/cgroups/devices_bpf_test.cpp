// The cgroup v2 device filter: rule parsing, the generated program, and
// (ROOT_) the program loaded and attached to a real cgroup2 directory - on a
// hybrid host the controller-less cgroup2 mount is enough, since device
// programs are not a controller.
#include "devices_bpf.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include <fstream>

#include <gtest/gtest.h>

#include "test_env.hpp"

namespace warren::isolators::cgroups::devices {
namespace {

TEST(DevicesBpf, ParsesRulesAndRefusesBadOnes) {
  auto r = parseRule("c 1:3 rwm");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, 'c');
  EXPECT_EQ(r->major, 1);
  EXPECT_EQ(r->minor, 3);
  EXPECT_EQ(r->access, kRead | kWrite | kMknod);
  r = parseRule("b *:* m");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->major, -1);
  EXPECT_EQ(r->access, kMknod);
  EXPECT_TRUE(parseRule("a"));
  auto bad = parseRule("c 1:x r");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "invalid device rule 'c 1:x r': major and minor must be numbers or * (want e.g. 'c 1:3 rwm')");
  EXPECT_FALSE(parseRule("c 1:3 rwx"));
  EXPECT_FALSE(parseRule("c 1:3"));
  EXPECT_FALSE(parseRule("q 1:3 r"));
}

TEST(DevicesBpf, ProgramHasOneBlockPerRuleAndDeniesByDefault) {
  auto empty = buildProgram({});
  // 6 loads/shifts of the context, then "r0 = 0; exit".
  ASSERT_EQ(empty.size(), 8u);
  EXPECT_EQ(empty.back() & 0xff, 0x95u);  // BPF_JMP | BPF_EXIT
  auto one = buildProgram({Rule{'c', 1, 3, kRead}});
  // type, major, minor checks + 3 access insns + "r0 = 1; exit".
  EXPECT_EQ(one.size(), empty.size() + 8);
}

std::string cgroup2Mount() {
  for (const char* p : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs s {};
    if (statfs(p, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC) return p;
  }
  return "";
}

// Runs `probe` in a child placed in `cg`; returns its exit status.
int runIn(const std::string& cg, int (*probe)()) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1) _exit(100);
    _exit(probe());
  }
  close(go[0]);
  {
    std::ofstream procs(cg + "/cgroup.procs");
    procs << pid << std::flush;
  }
  (void)!write(go[1], "x", 1);
  close(go[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Bit 0: /dev/null opened; bit 1: /dev/kmsg refused with EPERM.
int probeNullAndKmsg() {
  int out = 0;
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd >= 0) out |= 1, close(fd);
  fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) out |= 2;
  if (fd >= 0) close(fd);
  return out;
}

TEST(ROOT_DevicesBpf, AttachedProgramDeniesWhatItsRulesDoNotAllow) {
  WARREN_REQUIRE_ROOT();
  std::string mnt = cgroup2Mount();
  if (mnt.empty()) GTEST_SKIP() << "skipped: no cgroup2 mount";
  int k = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
  if (k < 0) GTEST_SKIP() << "skipped: /dev/kmsg cannot be opened here at all";
  close(k);
  std::string cg = mnt + "/" + warren::testing::tag() + "-devices";
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg;
  auto r = applyV2(cg, {});
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  EXPECT_EQ(runIn(cg, probeNullAndKmsg), 3);
  // A child cgroup with its own, wider program is still bound by its parent's.
  std::string child = cg + "/child";
  ASSERT_EQ(mkdir(child.c_str(), 0755), 0);
  auto wide = applyV2(child, {"c 1:11 rwm"});  // /dev/kmsg
  EXPECT_TRUE(wide) << (wide ? "" : wide.error().message());
  EXPECT_EQ(runIn(child, probeNullAndKmsg), 3);
  EXPECT_EQ(rmdir(child.c_str()), 0);
  EXPECT_EQ(rmdir(cg.c_str()), 0);
}

TEST(ROOT_DevicesBpf, ExtraRuleAllowsTheDevice) {
  WARREN_REQUIRE_ROOT();
  std::string mnt = cgroup2Mount();
  if (mnt.empty()) GTEST_SKIP() << "skipped: no cgroup2 mount";
  std::string cg = mnt + "/" + warren::testing::tag() + "-devices-extra";
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0) << cg;
  auto r = applyV2(cg, {"c 1:11 r"});
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  // kmsg now opens for reading: bit 1 stays clear.
  EXPECT_EQ(runIn(cg, probeNullAndKmsg), 1);
  EXPECT_EQ(rmdir(cg.c_str()), 0);
}

}  // namespace
}  // namespace warren::isolators::cgroups::devices
