// resources.disk_bytes under both disk isolators (issue #18), one scenario
// run for each: 10 MiB and a 30 MiB writer -> DISK_LIMIT with a DISK
// limitation; writes into the rootfs (its upper layer lives in the sandbox)
// count; usage is reported; a writer under its limit is left alone.
//
// disk/du measures the sandbox on a plain work dir. disk/xfs needs the work
// dir on XFS mounted with prjquota: the fixture makes an XFS image
// (mkfs.xfs, xfsprogs), attaches it to a loop device and mounts it in the
// test's dir; it is skipped, with the reason printed, when mkfs.xfs is
// missing or this kernel cannot mount XFS with project quotas (no
// CONFIG_XFS_QUOTA: this CI VM's kernel; the qemu lane's kernel has it,
// tests/vm ROOT_QemuXfsQuota runs these there).
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "warren/sdk/fd.hpp"

namespace warren::testing {
namespace {

struct DiskIsolator {
  std::string name;    // short name in --isolation
  std::string config;  // its --isolator_config JSON
  bool hard = false;   // a kernel hard limit: nothing past disk_bytes is ever written
};

// How gtest (and so ctest's list) names a parameter: "disk/xfs", not its bytes.
void PrintTo(const DiskIsolator& d, std::ostream* os) { *os << d.name; }

// Attaches `img` to a free loop device (as `losetup --find --show` does,
// through /dev/loop-control: busybox's losetup in the qemu guest differs);
// "" with *err set on failure.
std::string attachLoop(const std::string& img, std::string* err) {
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl) return *err = std::string("open /dev/loop-control: ") + strerror(errno), "";
  int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
  if (n < 0) return *err = std::string("LOOP_CTL_GET_FREE: ") + strerror(errno), "";
  std::string dev = "/dev/loop" + std::to_string(n);
  UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd file(::open(img.c_str(), O_RDWR | O_CLOEXEC));
  if (!loop || !file) return *err = "open " + dev + " / " + img + ": " + strerror(errno), "";
  struct loop_config cfg {};
  cfg.fd = static_cast<uint32_t>(file.get());
  if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) != 0) return *err = "LOOP_CONFIGURE " + dev + ": " + strerror(errno), "";
  return dev;
}

// `losetup -d dev`.
bool detachLoop(const std::string& dev, std::string* err) {
  UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
  if (!loop || ::ioctl(loop.get(), LOOP_CLR_FD, 0) != 0) {
    *err = "LOOP_CLR_FD " + dev + ": " + strerror(errno);
    return false;
  }
  return true;
}

std::string printName(const ::testing::TestParamInfo<DiskIsolator>& p) {
  return p.param.name == "disk/du" ? "Du" : "Xfs";
}

class ROOT_DiskLimit : public ContainerizerTest, public ::testing::WithParamInterface<DiskIsolator> {
 protected:
  void SetUp() override {
    ContainerizerTest::SetUp();
    if (IsSkipped()) return;
    if (GetParam().name == "disk/xfs") mountXfs(true);
  }

  void TearDown() override {
    if (!mnt_.empty()) {
      EXPECT_EQ(::umount2(mnt_.c_str(), 0), 0) << "umount " << mnt_ << ": " << strerror(errno);
    }
    if (!loop_.empty()) {
      std::string err;
      EXPECT_TRUE(detachLoop(loop_, &err)) << err;
    }
  }

  // A 300 MiB sparse XFS image (mkfs.xfs's minimum), on a loop device,
  // mounted (with prjquota when asked); the containerizer's work dir goes
  // on it.
  void mountXfs(bool prjquota) {
    std::string img = env_.root + "/xfs.img";
    std::string dir = env_.root + "/xfs";
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
    auto mk = runCmd({"sh", "-c", "command -v mkfs.xfs"});
    if (mk.exit_code != 0) GTEST_SKIP() << "skipped: needs mkfs.xfs (Debian xfsprogs; scripts/setup.sh)";
    ASSERT_EQ(runCmd({"truncate", "-s", "300M", img}).exit_code, 0);
    auto made = runCmd({"mkfs.xfs", "-q", img});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    std::string err;
    loop_ = attachLoop(img, &err);
    ASSERT_FALSE(loop_.empty()) << err;
    if (::mount(loop_.c_str(), dir.c_str(), "xfs", 0, prjquota ? "prjquota" : nullptr) != 0) {
      int e = errno;
      // Without CONFIG_XFS_QUOTA, XFS refuses the quota options (EINVAL).
      if (prjquota && ::mount(loop_.c_str(), dir.c_str(), "xfs", 0, nullptr) == 0) {
        ::umount2(dir.c_str(), 0);
        GTEST_SKIP() << "skipped: this kernel mounts XFS but not with prjquota (" << strerror(e)
                     << "; no CONFIG_XFS_QUOTA); the qemu lane ROOT_QemuXfsQuota runs this";
      }
      FAIL() << "mount " << loop_ << " (xfs) on " << dir << ": " << strerror(e);
    }
    mnt_ = dir;
    env_.work_dir = dir + "/work";
  }

  std::unique_ptr<Containerizer> makeDisk() {
    Options o = options({"filesystem/linux", "pid", GetParam().name});
    o.plugin_configs[GetParam().name] = GetParam().config;
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }

  // Bytes of the regular files f* the writer left in its sandbox.
  uint64_t writtenBytes(const std::string& cid) {
    uint64_t total = 0;
    for (const auto& n : listDir(env_.work_dir + "/sandboxes/" + cid)) {
      struct stat st {};
      if (n[0] == 'f' && ::stat((env_.work_dir + "/sandboxes/" + cid + "/" + n).c_str(), &st) == 0) {
        total += static_cast<uint64_t>(st.st_size);
      }
    }
    return total;
  }

  static std::vector<std::string> sortedDir(const std::string& p) {
    auto v = listDir(p);
    std::sort(v.begin(), v.end());
    return v;
  }

  std::string loop_;  // the loop device, detached at teardown
  std::string mnt_;   // the XFS mount point, unmounted at teardown
};

TEST_P(ROOT_DiskLimit, WriterOverItsDiskBytesEndsWithDiskLimit) {
  auto c = makeDisk();
  ASSERT_TRUE(c);
  // Slowly enough that a 100 ms poll sees it pass 10 MiB long before 30.
  auto cfg = shell("for i in $(seq 30); do dd if=/dev/zero of=$WARREN_SANDBOX/f$i bs=1M count=1 2>/dev/null; "
                   "sleep 0.1; done; echo wrote-all; sleep 300");
  cfg.set_rootfs(env_.makeRootfs());
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("hog"), cfg));
  auto t = c->wait(id("hog"), std::chrono::seconds(120));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::DISK_LIMIT) << t->message();
  ASSERT_EQ(t->limitations_size(), 1);
  EXPECT_EQ(t->limitations(0).reason(), v1::Limitation::DISK);
  EXPECT_EQ(t->limitations(0).isolator(), GetParam().name);
  EXPECT_EQ(t->limitations(0).resources().disk_bytes(), 10u << 20);
  EXPECT_LT(t->limitations(0).peak_bytes(), 30u << 20);
  if (GetParam().hard) {
    // The kernel's limit: never more than 10 MiB, and the writer got there.
    EXPECT_LE(t->limitations(0).peak_bytes(), 10u << 20);
    EXPECT_GT(t->limitations(0).peak_bytes(), 9u << 20);
    EXPECT_LE(writtenBytes("hog"), 10u << 20);
  } else {
    EXPECT_GT(t->limitations(0).peak_bytes(), 10u << 20);
  }
  EXPECT_EQ(stdoutOf("hog").find("wrote-all"), std::string::npos);
  ASSERT_TRUE(c->destroy(id("hog")));
}

TEST_P(ROOT_DiskLimit, WritesIntoTheRootCountAndAWriterUnderItsLimitIsLeftAlone) {
  auto c = makeDisk();
  ASSERT_TRUE(c);
  auto root = env_.makeRootfs();
  auto small = shell("dd if=/dev/zero of=/tmp/f bs=1M count=2 2>/dev/null; sleep 1; echo done");
  small.set_rootfs(root);
  small.mutable_resources()->set_disk_bytes(10 << 20);
  auto t = runToEnd(*c, "small", small);
  EXPECT_EQ(t.first.reason(), v1::Termination::COMMAND_EXITED) << t.first.message();
  EXPECT_EQ(t.second, "done\n");
  // The rootfs's upper layer is in the sandbox: a write to /tmp counts.
  auto big = shell("dd if=/dev/zero of=/tmp/f bs=1M count=20 2>/dev/null; sleep 300");
  big.set_rootfs(root);
  big.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("big"), big));
  auto tb = c->wait(id("big"), std::chrono::seconds(120));
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->reason(), v1::Termination::DISK_LIMIT) << tb->message();
  ASSERT_TRUE(c->destroy(id("big")));
}

TEST_P(ROOT_DiskLimit, UsageReportsTheLimitAndWhatTheSandboxHolds) {
  auto c = makeDisk();
  ASSERT_TRUE(c);
  auto cfg = shell("dd if=/dev/zero of=$WARREN_SANDBOX/f bs=1M count=3 2>/dev/null && sync; sleep 300");
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("u"), cfg));
  v1::ResourceStatistics last;
  EXPECT_TRUE(eventually([&] {
    auto u = c->usage(id("u"));
    if (u) last = *u;
    return u && u->disk_used_bytes() >= (3u << 20);
  }, std::chrono::seconds(30))) << last.ShortDebugString();
  EXPECT_EQ(last.disk_limit_bytes(), 10u << 20);
  EXPECT_LT(last.disk_used_bytes(), 10u << 20);
  ASSERT_TRUE(c->destroy(id("u")));
}

INSTANTIATE_TEST_SUITE_P(
    BothDiskIsolators, ROOT_DiskLimit,
    ::testing::Values(DiskIsolator{"disk/du", R"({"interval_ms": 100})", false},
                      DiskIsolator{"disk/xfs", R"({"interval_ms": 100, "project_ids": "7000-7009"})", true}),
    printName);

// disk/xfs only (a hard limit is what disk/du does not have): with
// "passive", the writer's write past 10 MiB fails and it runs on. XFS fails
// a write over a *project* quota with ENOSPC, not EDQUOT (the tree looks
// like a full file system; xfs_trans_dqresv), so that is what it reads.
class ROOT_DiskXfs : public ROOT_DiskLimit {};

TEST_P(ROOT_DiskXfs, PassiveWriterGetsEnospcAndRunsOn) {
  Options o = options({"filesystem/linux", "pid", "disk/xfs"});
  o.plugin_configs["disk/xfs"] = R"({"interval_ms": 100, "passive": true, "project_ids": "7000-7009"})";
  auto c = Containerizer::create(o);
  ASSERT_TRUE(c) << c.error().message();
  // On the failed write it frees 1 MiB so that its log can take the message.
  auto cfg = shell("for i in $(seq 30); do if ! dd if=/dev/zero of=$WARREN_SANDBOX/f$i bs=1M count=1 "
                   "2>/dev/shm/err; then rm $WARREN_SANDBOX/f1; cat /dev/shm/err; echo failed-at $i; exit 3; "
                   "fi; done; echo wrote-all");
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  auto t = runToEnd(**c, "p", cfg);
  EXPECT_EQ(t.first.reason(), v1::Termination::COMMAND_EXITED) << t.first.message();
  EXPECT_EQ(t.first.exit_code(), 3) << t.second;
  EXPECT_NE(t.second.find("No space left on device"), std::string::npos) << t.second;
  // 10 files of 1 MiB fit exactly (small directories live in their inodes);
  // the 11th does not. (10: if some directory took a block.)
  auto at = t.second.find("failed-at ");
  ASSERT_NE(at, std::string::npos) << t.second;
  int n = std::atoi(t.second.c_str() + at + 10);
  EXPECT_TRUE(n == 10 || n == 11) << t.second;
  EXPECT_EQ(t.second.find("wrote-all"), std::string::npos);
  EXPECT_EQ(t.first.limitations_size(), 0);
}

// The project id is checkpointed: a new warren recovers it (and its watch),
// and destroy releases it (record gone, files back in project 0).
TEST_P(ROOT_DiskXfs, ProjectIsRecoveredAfterARestartAndReleasedOnDestroy) {
  const std::string records = env_.work_dir + "/plugins/disk_xfs/projects";
  auto c = makeDisk();
  ASSERT_TRUE(c);
  auto cfg = shell("while [ ! -e $WARREN_SANDBOX/go ]; do sleep 0.1; done; "
                   "for i in $(seq 30); do dd if=/dev/zero of=$WARREN_SANDBOX/f$i bs=1M count=1 2>/dev/null; "
                   "sleep 0.1; done; echo wrote-all; sleep 300");
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("r"), cfg));
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock", "7000"}));
  c.reset();  // warren goes away
  c = makeDisk();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->recover());
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock", "7000"}));
  ASSERT_TRUE(fs::writeFile(env_.work_dir + "/sandboxes/r/go", ""));
  auto t = c->wait(id("r"), std::chrono::seconds(120));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::DISK_LIMIT) << t->message();
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock"}));  // released when it ended
  ASSERT_TRUE(c->destroy(id("r")));
  // The next container gets the same (lowest) id again, with no old usage.
  auto small = shell("dd if=/dev/zero of=$WARREN_SANDBOX/f bs=1M count=1 2>/dev/null && sync; sleep 300");
  small.mutable_resources()->set_disk_bytes(10 << 20);
  ASSERT_TRUE(c->launch(id("s"), small));
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock", "7000"}));
  v1::ResourceStatistics last;
  EXPECT_TRUE(eventually([&] {
    auto u = c->usage(id("s"));
    if (u) last = *u;
    return u && u->disk_used_bytes() >= (1u << 20);
  }, std::chrono::seconds(30))) << last.ShortDebugString();
  EXPECT_LT(last.disk_used_bytes(), 2u << 20);
  ASSERT_TRUE(c->destroy(id("s")));
}

// A nested container with disk_bytes of its own gets a project of its own
// inside its parent's: its limit ends it alone, and at its end its files go
// back to the parent's project (they count against the parent again).
TEST_P(ROOT_DiskXfs, NestedChildHasItsOwnProjectAndGivesItsFilesBackToItsParents) {
  const std::string records = env_.work_dir + "/plugins/disk_xfs/projects";
  auto c = makeDisk();
  ASSERT_TRUE(c);
  auto parent = shell("sleep 300");
  parent.mutable_resources()->set_disk_bytes(20 << 20);
  ASSERT_TRUE(c->launch(id("p"), parent));
  auto child = shell("for i in $(seq 10); do dd if=/dev/zero of=$WARREN_SANDBOX/f$i bs=1M count=1 2>/dev/null; "
                     "sleep 0.1; done; echo wrote-all; sleep 300");
  child.mutable_resources()->set_disk_bytes(4 << 20);
  ASSERT_TRUE(c->launch(id("p.c"), child));
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock", "7000", "7001"}));
  auto t = c->wait(id("p.c"), std::chrono::seconds(120));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::DISK_LIMIT) << t->message();
  EXPECT_LE(t->limitations(0).peak_bytes(), 4u << 20);
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock", "7000"}));
  auto u = c->usage(id("p"));
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->disk_limit_bytes(), 20u << 20);
  EXPECT_GE(u->disk_used_bytes(), 3u << 20) << "the child's files are the parent's again";
  ASSERT_TRUE(c->destroy(id("p")));
  EXPECT_EQ(sortedDir(records), (std::vector<std::string>{".lock"}));
}

INSTANTIATE_TEST_SUITE_P(
    HardLimit, ROOT_DiskXfs,
    ::testing::Values(DiskIsolator{"disk/xfs", R"({"interval_ms": 100, "project_ids": "7000-7009"})", true}),
    printName);

// disk/xfs refuses to load, with one line saying why, where it cannot
// enforce anything: a work dir off XFS, or on XFS without prjquota.
class ROOT_DiskXfsRefuses : public ROOT_DiskLimit {
 protected:
  void SetUp() override { ContainerizerTest::SetUp(); }
};

TEST_P(ROOT_DiskXfsRefuses, AWorkDirOffXfsOrWithoutPrjquota) {
  auto c = Containerizer::create(options({"filesystem/linux", "pid", "disk/xfs"}));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("disk/xfs: '" + env_.work_dir + "' is not on XFS (file system type 0x"),
            std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("it needs XFS mounted with prjquota"), std::string::npos);
  mountXfs(false);
  if (IsSkipped() || HasFatalFailure()) return;
  c = Containerizer::create(options({"filesystem/linux", "pid", "disk/xfs"}));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("disk/xfs: no project quota on the XFS of '" + env_.work_dir + "'"),
            std::string::npos) << c.error().message();
  EXPECT_EQ(c.error().message().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    NoQuota, ROOT_DiskXfsRefuses,
    ::testing::Values(DiskIsolator{"disk/xfs", R"({})", true}), printName);

}  // namespace
}  // namespace warren::testing
