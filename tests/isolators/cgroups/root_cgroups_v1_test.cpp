// ROOT tests on this machine's cgroup v1 controllers: the plugin driven
// through the real plugin host, with real processes in the cgroups.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "cgroups_test_util.hpp"

namespace warren::testing::cg {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
// cpuset is opt-in (config enable_cpuset), so a default container has none.
const char* kControllers[] = {"cpu", "cpuacct", "memory", "pids", "devices", "freezer"};

std::string slurp(const std::string& f) {
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

bool isV1Machine() {
  return fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") &&
         !fs::exists("/sys/fs/cgroup/cgroup.controllers");
}

class ROOT_CgroupsV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    if (!isV1Machine()) GTEST_SKIP() << "skipped: needs cgroup v1 controllers at /sys/fs/cgroup/<controller>";
    load();
  }
  void load(std::map<std::string, std::string> flags = {}) {
    auto l = loadCgroups(env_, std::move(flags));
    ASSERT_TRUE(l) << l.error().message();
    loaded_ = std::move(*l);
    p_ = loaded_.plugin;
  }
  std::string dir(const std::string& ctrl, const std::string& rel) {
    return "/sys/fs/cgroup/" + ctrl + env_.cgroups_root + (rel.empty() ? "" : "/" + rel);
  }
  // Nothing of ours below the root in any controller.
  void expectNoCgroups() {
    for (const char* c : kControllers) {
      std::string root = dir(c, "");
      if (!fs::exists(root)) continue;
      auto r = runCmd({"/usr/bin/find", root, "-mindepth", "1", "-type", "d"});
      EXPECT_EQ(r.out, "") << "left in " << c;
    }
  }
  TestEnv env_;
  Loaded loaded_;
  plugins::Plugin* p_ = nullptr;
};

TEST_F(ROOT_CgroupsV1, CreatesCgroupInEveryControllerAndCleansUp) {
  Spec c{.id = "c1", .cpus = 0.5, .mem = 64 * kMiB, .pids = 20};
  ASSERT_TRUE(prepare(p_, c));
  for (const char* ctrl : kControllers) {
    EXPECT_TRUE(fs::exists(dir(ctrl, "c1/init.leaf"))) << ctrl;
  }
  EXPECT_EQ(slurp(dir("memory", "c1/memory.limit_in_bytes")), std::to_string(64 * kMiB));
  EXPECT_EQ(slurp(dir("pids", "c1/pids.max")), "20");
  EXPECT_EQ(slurp(dir("cpu", "c1/cpu.shares")), "512");
  EXPECT_EQ(slurp(dir("cpu", "c1/cpu.cfs_quota_us")), "-1");  // no CFS cap without the flag
  std::string devs = slurp(dir("devices", "c1/init.leaf/devices.list"));
  EXPECT_NE(devs.find("c 1:3 rwm"), std::string::npos) << devs;
  EXPECT_EQ(devs.find("a *:* rwm"), std::string::npos) << devs;

  Proc proc = Proc::sh("sleep 30");
  ASSERT_TRUE(isolate(p_, c, proc.pid()));
  proc.release();
  std::string cg = slurp("/proc/" + std::to_string(proc.pid()) + "/cgroup");
  EXPECT_NE(cg.find("memory:" + env_.cgroups_root + "/c1/init.leaf"), std::string::npos) << cg;
  EXPECT_NE(cg.find("freezer:" + env_.cgroups_root + "/c1/init.leaf"), std::string::npos) << cg;

  v1::ContainerRequest sreq = containerReq(c);
  auto st = p_->call<v1::ContainerStatus>(v1::STATUS, sreq);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->cgroup(), dir("memory", "c1"));
  EXPECT_EQ(st->labels().at("cgroups.version"), "1");

  ASSERT_TRUE(cleanup(p_, c));
  int ws = proc.wait(std::chrono::seconds(5));
  ASSERT_GE(ws, 0);
  EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  expectNoCgroups();
  EXPECT_TRUE(cleanup(p_, c));                       // idempotent
  EXPECT_TRUE(cleanup(p_, Spec{.id = "never-seen"}));  // unknown container
}

TEST_F(ROOT_CgroupsV1, OomKillIsMemoryLimitationWhileSiblingRuns) {
  Spec pod{.id = "pod", .mem = 256 * kMiB};
  Spec a{.id = "pod.a", .mem = 32 * kMiB};
  Spec b{.id = "pod.b", .mem = 32 * kMiB};
  ASSERT_TRUE(prepare(p_, pod));
  ASSERT_TRUE(prepare(p_, a, &pod));
  ASSERT_TRUE(prepare(p_, b, &pod));

  Proc sib = Proc::sh("sleep 60");
  ASSERT_TRUE(isolate(p_, b, sib.pid()));
  sib.release();
  // 64MiB buffer in a 32MiB cgroup: the kernel OOM-kills dd.
  Proc hog({"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
  ASSERT_TRUE(isolate(p_, a, hog.pid()));
  hog.release();
  int ws = hog.wait(std::chrono::seconds(20));
  ASSERT_GE(ws, 0) << "dd was not killed";
  EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL) << "status " << ws << " " << hog.output();

  auto w = watch(p_, "pod.a");
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_EQ(w->limitations_size(), 1);
  const auto& lim = w->limitations(0);
  EXPECT_EQ(lim.reason(), v1::Limitation::MEMORY);
  EXPECT_EQ(lim.resources().mem_bytes(), 32 * kMiB);
  EXPECT_GE(lim.peak_bytes(), 28 * kMiB);
  EXPECT_LE(lim.peak_bytes(), 33 * kMiB);
  EXPECT_NE(lim.message().find("memory limit 32MiB reached: 1 process(es) OOM-killed"), std::string::npos)
      << lim.message();

  auto wb = watch(p_, "pod.b");
  ASSERT_TRUE(wb);
  EXPECT_EQ(wb->limitations_size(), 0);
  auto wp = watch(p_, "pod");
  ASSERT_TRUE(wp);
  EXPECT_EQ(wp->limitations_size(), 0);  // the kill was the child's
  EXPECT_TRUE(sib.alive());

  auto ua = usage(p_, a);
  ASSERT_TRUE(ua) << ua.error().message();
  EXPECT_EQ(ua->oom_events(), 1u);
  EXPECT_EQ(ua->mem_limit_bytes(), 32 * kMiB);
  auto up = usage(p_, pod);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->oom_events(), 1u);  // the subtree's

  for (const Spec* s : {&a, &b, &pod}) EXPECT_TRUE(cleanup(p_, *s)) << s->id;
  EXPECT_GE(sib.wait(std::chrono::seconds(5)), 0);
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, PidsLimitMakesNextForkFail) {
  Spec c{.id = "p", .pids = 4};
  ASSERT_TRUE(prepare(p_, c));
  // sh + 3 sleeps = 4 pids; the 4th sleep cannot be forked.
  Proc sh = Proc::sh("for i in 1 2 3 4 5 6; do sleep 30 & done; echo loop-done; sleep 30");
  ASSERT_TRUE(isolate(p_, c, sh.pid()));
  sh.release();
  ASSERT_TRUE(eventually([&] { return sh.output().find("can't fork") != std::string::npos; }))
      << sh.output();
  // The shell gives up at the refused fork (exit 2); the 3 children it
  // could fork remain: exactly the limit of 4 was reached.
  int ws = sh.wait(std::chrono::seconds(10));
  ASSERT_GE(ws, 0);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 2) << ws;
  EXPECT_EQ(sh.output().find("loop-done"), std::string::npos);
  auto sleeps = [&] {
    std::istringstream in(slurp(dir("pids", "p/init.leaf/cgroup.procs")));
    int n = 0;
    pid_t x;
    while (in >> x) n += slurp("/proc/" + std::to_string(x) + "/comm") == "sleep";
    return n;
  };
  EXPECT_TRUE(eventually([&] { return sleeps() == 3; }, std::chrono::seconds(3))) << sleeps();
  EXPECT_EQ(slurp(dir("pids", "p/pids.current")), "3");
  auto events = [&](const std::string& rel) {
    std::string e = slurp(dir("pids", rel + "/pids.events"));
    return e.rfind("max ", 0) == 0 ? std::stoi(e.substr(4)) : 0;
  };
  EXPECT_GE(events("p") + events("p/init.leaf"), 1);
  auto u = usage(p_, c);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->pids_limit(), 4u);
  ASSERT_TRUE(cleanup(p_, c));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, CfsQuotaHoldsBusyLoopNearOneFifth) {
  load({{"cgroups_enable_cfs", "true"}});
  Spec c{.id = "busy", .cpus = 0.2};
  ASSERT_TRUE(prepare(p_, c));
  EXPECT_EQ(slurp(dir("cpu", "busy/cpu.cfs_quota_us")), "20000");
  EXPECT_EQ(slurp(dir("cpu", "busy/cpu.cfs_period_us")), "100000");
  Proc loop = Proc::sh("while :; do :; done");
  ASSERT_TRUE(isolate(p_, c, loop.pid()));
  loop.release();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto u0 = usage(p_, c);
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto u1 = usage(p_, c);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(u0 && u1);
  double cpu = (u1->cpus_user_time_secs() + u1->cpus_system_time_secs()) -
               (u0->cpus_user_time_secs() + u0->cpus_system_time_secs());
  double share = cpu / wall;
  std::printf("busy loop under a 0.2 cpu quota used %.3f cpus over %.2fs\n", share, wall);
  EXPECT_GT(share, 0.05);  // it ran (generous: the machine is shared)
  EXPECT_LT(share, 0.30);  // and was capped (unthrottled it takes a whole cpu)
  EXPECT_GT(u1->cpus_nr_throttled(), 0u);
  ASSERT_TRUE(cleanup(p_, c));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, DeniedDeviceCannotBeOpened) {
  // The host itself may open /dev/kmsg; inside the container it is denied.
  int fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "skipped: /dev/kmsg cannot be opened here at all";
  close(fd);
  Spec c{.id = "dev"};
  ASSERT_TRUE(prepare(p_, c));
  Proc sh = Proc::sh(
      "head -c 1 /dev/zero >/dev/null && echo zero-ok; (exec 3</dev/kmsg) && echo kmsg-opened || "
      "echo kmsg-denied");
  ASSERT_TRUE(isolate(p_, c, sh.pid()));
  sh.release();
  ASSERT_GE(sh.wait(std::chrono::seconds(10)), 0);
  std::string out = sh.output();
  EXPECT_NE(out.find("zero-ok"), std::string::npos) << out;
  EXPECT_NE(out.find("kmsg-denied"), std::string::npos) << out;
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
  ASSERT_TRUE(cleanup(p_, c));
}

TEST_F(ROOT_CgroupsV1, LiveUpdateRaisesNestedChildMemory) {
  Spec pod{.id = "pod", .cpus = 1, .mem = 256 * kMiB, .pids = 64};
  Spec web{.id = "pod.web", .mem = 32 * kMiB};
  ASSERT_TRUE(prepare(p_, pod));
  ASSERT_TRUE(prepare(p_, web, &pod));
  {
    Proc dd({"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=48M", "count=1"});
    ASSERT_TRUE(isolate(p_, web, dd.pid()));
    dd.release();
    int ws = dd.wait(std::chrono::seconds(20));
    EXPECT_TRUE(ws >= 0 && WIFSIGNALED(ws)) << "48MiB fit in 32MiB? status " << ws;
  }
  ASSERT_TRUE(update(p_, web, 0, 96 * kMiB, 0));
  EXPECT_EQ(slurp(dir("memory", "pod/web/memory.limit_in_bytes")), std::to_string(96 * kMiB));
  {
    Proc dd({"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=48M", "count=1"});
    ASSERT_TRUE(isolate(p_, web, dd.pid()));
    dd.release();
    int ws = dd.wait(std::chrono::seconds(20));
    EXPECT_TRUE(ws >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "status " << ws << dd.output();
  }
  // Above the parent's limit: refused, naming the resource and the parent.
  auto over = update(p_, web, 0, 512 * kMiB, 0);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), Code::InvalidArgument);
  EXPECT_NE(over.error().message().find(
                "resources.mem_bytes 512MiB of 'pod.web' exceeds the limit 256MiB of its parent 'pod'"),
            std::string::npos)
      << over.error().message();
  EXPECT_EQ(slurp(dir("memory", "pod/web/memory.limit_in_bytes")), std::to_string(96 * kMiB));
  // The parent cannot drop below its child.
  auto under = update(p_, pod, 0, 64 * kMiB, 0);
  ASSERT_FALSE(under);
  EXPECT_NE(under.error().message().find("'pod.web'"), std::string::npos) << under.error().message();
  // Top-level cpus and pids update live.
  ASSERT_TRUE(update(p_, pod, 1.5, 0, 100));
  EXPECT_EQ(slurp(dir("cpu", "pod/cpu.shares")), "1536");
  EXPECT_EQ(slurp(dir("pids", "pod/pids.max")), "100");
  auto bad = update(p_, pod, -1, 0, 0);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("resources.cpus=-1"), std::string::npos);
  ASSERT_TRUE(cleanup(p_, web));
  ASSERT_TRUE(cleanup(p_, pod));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, ChildAboveParentIsRefusedBeforeAnythingIsMade) {
  Spec pod{.id = "pod", .mem = 64 * kMiB, .pids = 10};
  ASSERT_TRUE(prepare(p_, pod));
  Spec web{.id = "pod.web", .mem = 128 * kMiB};
  auto r = prepare(p_, web, &pod);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_NE(r.error().message().find("resources.mem_bytes 128MiB of 'pod.web' exceeds the limit 64MiB"),
            std::string::npos)
      << r.error().message();
  // A grandchild is bounded by the nearest ancestor that sets the limit.
  ASSERT_TRUE(prepare(p_, Spec{.id = "pod.mid"}, &pod));
  Spec deep{.id = "pod.mid.leafy", .pids = 11};
  r = prepare(p_, deep);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("resources.pids 11 of 'pod.mid.leafy' exceeds the limit 10 of "
                                     "its ancestor 'pod'"),
            std::string::npos)
      << r.error().message();
  for (const char* ctrl : kControllers) {
    EXPECT_FALSE(fs::exists(dir(ctrl, "pod/web"))) << ctrl;
    EXPECT_FALSE(fs::exists(dir(ctrl, "pod/mid/leafy"))) << ctrl;
  }
  ASSERT_TRUE(cleanup(p_, pod));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, DebugContainerRunsInParentCgroups) {
  Spec pod{.id = "pod", .mem = 64 * kMiB};
  ASSERT_TRUE(prepare(p_, pod));
  auto bad = prepare(p_, Spec{.id = "pod.dbg", .mem = 8 * kMiB, .debug = true}, &pod);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
  EXPECT_NE(bad.error().message().find("DEBUG container"), std::string::npos);
  Spec dbg{.id = "pod.dbg", .debug = true};
  ASSERT_TRUE(prepare(p_, dbg, &pod));
  EXPECT_FALSE(fs::exists(dir("memory", "pod/dbg")));
  Proc proc = Proc::sh("sleep 30");
  ASSERT_TRUE(isolate(p_, dbg, proc.pid()));
  proc.release();
  std::string cg = slurp("/proc/" + std::to_string(proc.pid()) + "/cgroup");
  EXPECT_NE(cg.find("memory:" + env_.cgroups_root + "/pod/init.leaf"), std::string::npos) << cg;
  ASSERT_TRUE(cleanup(p_, dbg));
  EXPECT_TRUE(proc.alive());  // the parent's cgroup is not the debug container's to kill
  ASSERT_TRUE(cleanup(p_, pod));
  EXPECT_GE(proc.wait(std::chrono::seconds(5)), 0);
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, RecoverKillsAndRemovesOrphans) {
  Spec a{.id = "a"}, ab{.id = "a.b"}, c{.id = "c", .pids = 10};
  ASSERT_TRUE(prepare(p_, a));
  ASSERT_TRUE(prepare(p_, ab, &a));
  ASSERT_TRUE(prepare(p_, c));
  Proc orphan = Proc::sh("sleep 60");
  ASSERT_TRUE(isolate(p_, c, orphan.pid()));
  orphan.release();
  v1::RecoverRequest req;
  *req.add_containers()->mutable_id() = parseId("a").value();
  auto r = p_->call<v1::Empty>(v1::RECOVER, req);
  ASSERT_TRUE(r) << r.error().message();
  int ws = orphan.wait(std::chrono::seconds(5));
  ASSERT_GE(ws, 0);
  EXPECT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  for (const char* ctrl : kControllers) {
    EXPECT_TRUE(fs::exists(dir(ctrl, "a/init.leaf"))) << ctrl;
    EXPECT_FALSE(fs::exists(dir(ctrl, "a/b"))) << ctrl;
    EXPECT_FALSE(fs::exists(dir(ctrl, "c"))) << ctrl;
  }
  ASSERT_TRUE(cleanup(p_, a));
  expectNoCgroups();
}

TEST_F(ROOT_CgroupsV1, CleanupKillsProcessesForkingDuringTheKill) {
  Spec c{.id = "forky", .pids = 200};
  ASSERT_TRUE(prepare(p_, c));
  Proc sh = Proc::sh("while :; do sleep 5 & done");
  ASSERT_TRUE(isolate(p_, c, sh.pid()));
  sh.release();
  ASSERT_TRUE(eventually([&] { return std::stoi(slurp(dir("pids", "forky/pids.current"))) > 20; }));
  ASSERT_TRUE(cleanup(p_, c));
  EXPECT_GE(sh.wait(std::chrono::seconds(5)), 0);
  expectNoCgroups();
}

}  // namespace
}  // namespace warren::testing::cg
