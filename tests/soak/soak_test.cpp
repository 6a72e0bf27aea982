// The soak: WARREN_SOAK_CYCLES (default 300) launch/destroy cycles through
// libwarren in this process - top-level, nested, 3-deep chains, task groups,
// bridged and destroyed-while-running containers, emptied checkpoints that
// recover must leave alone, and launches SIGKILLed at every named step that a
// plain destroy resolves, mixed - then zero residue: no cgroup
// under the cgroups root, no mount under the test dirs, no veth left on the
// bridge, no warren-init, no child process, the same fd and thread count as
// before, and a bounded RSS growth after warm-up.
//
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "residue.hpp"
#include "soak_probe.hpp"
#include "test_env.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/v1/group.pb.h"

namespace warren::testing {
namespace {

using namespace std::chrono_literals;
namespace sk = soak;

int envInt(const char* name, int dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : dflt;
}

std::string envStr(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t c = s.find(',', p);
    if (c == std::string::npos) c = s.size();
    if (c > p) out.push_back(s.substr(p, c - p));
    p = c + 1;
  }
  return out;
}

class Soak {
 public:
  Soak(Containerizer& c, std::string rootfs, std::string tagpfx)
      : c_(c), rootfs_(std::move(rootfs)), pfx_(std::move(tagpfx)) {}

  // For the crash-point cycles: the `warren` CLI over the same dirs.
  std::vector<std::string> cli_;
  std::string runtime_dir_;

  v1::ContainerConfig config(const std::vector<std::string>& argv, bool top) const {
    v1::ContainerConfig cfg;
    if (top) cfg.set_rootfs(rootfs_);
    cfg.mutable_command()->set_value(argv[0]);
    for (size_t i = 1; i < argv.size(); ++i) cfg.mutable_command()->add_arguments(argv[i]);
    return cfg;
  }

  // "" or what went wrong.
  std::string launch(const std::string& id, const v1::ContainerConfig& cfg) {
    auto cid = parseId(id);
    if (!cid) return "bad id " + id;
    auto st = c_.launch(*cid, cfg);
    return st ? "" : "launch " + id + ": " + st.error().message();
  }

  std::string runToExit(const std::string& id, const v1::ContainerConfig& cfg) {
    if (auto e = launch(id, cfg); !e.empty()) return e;
    auto cid = *parseId(id);
    auto t = c_.wait(cid, 30s);
    auto d = c_.destroy(cid);
    if (!t) return "wait " + id + ": " + t.error().message();
    if (!d) return "destroy " + id + ": " + d.error().message();
    if (!t->has_exit_status() || t->exit_code() != 0) return "container " + id + " did not exit 0: " + t->message();
    return "";
  }

  std::string destroyRunning(const std::string& id) {
    auto cid = *parseId(id);
    auto s = c_.status(cid);
    if (!s) return "status " + id + ": " + s.error().message();
    auto d = c_.destroy(cid);
    return d ? "" : "destroy " + id + ": " + d.error().message();
  }

  std::string parent() const { return pfx_ + "p"; }

  std::string startParent() {
    return launch(parent(), config({"/bin/sleep", "100000"}, true));
  }

  // A container whose checkpoint is emptied: recover must leave it (and
  // everything else) alone; then the record is put back and it is destroyed.
  std::string corruptRecord(const std::string& n) {
    auto cfg = config({"/bin/sleep", "100000"}, true);
    cfg.set_network_mode("none");
    if (auto e = launch(n, cfg); !e.empty()) return e;
    auto cid = *parseId(n);
    auto st = c_.status(cid);
    if (!st) return "status " + n + ": " + st.error().message();
    std::string state = runtime_dir_ + "/containers/" + n + "/state";
    auto bytes = fs::readFile(state);
    if (!bytes) return "read " + state + ": " + bytes.error().message();
    if (!fs::writeFile(state, "")) return "truncate " + state;
    auto r = c_.recover();
    if (!r) return "recover with an empty record: " + r.error().message();
    if (::kill(st->pid(), 0) != 0) return "recover killed " + n + " (its record was unreadable)";
    if (!fs::exists(state + ".quarantined")) return "the empty record of " + n + " was not quarantined";
    ::unlink((state + ".quarantined").c_str());
    if (!fs::writeFile(state, *bytes)) return "restore " + state;
    return destroyRunning(n);
  }

  // The launching `warren` process SIGKILLed at a named step; a plain
  // destroy by this process then resolves whatever it left.
  std::string crashPoint(const std::string& n, int i) {
    static const char* const kSteps[] = {"launch-begun", "launch-preparing", "launch-isolating",
                                         "launch-spawned", "launch-pid-checkpointed", "launch-isolated",
                                         "launch-running-checkpointed", "launch-released"};
    const char* step = kSteps[(i / kKinds) % 8];
    auto argv = cli_;
    for (const char* a : {"launch", "--network", "none", "--id"}) argv.push_back(a);
    argv.push_back(n);
    argv.push_back("--rootfs");
    argv.push_back(rootfs_);
    for (const char* a : {"--", "/bin/sleep", "100000"}) argv.push_back(a);
    auto r = runCmd(argv, 60s, {std::string("WARREN_FAULT_KILL_AT=") + step});
    if (r.exit_code != 128 + SIGKILL) return std::string("launch killed at ") + step + ": exit " + std::to_string(r.exit_code) + " " + r.err;
    auto d = c_.destroy(*parseId(n));
    return d ? "" : std::string("destroy after a crash at ") + step + ": " + d.error().message();
  }

  // One cycle of kind i % kKinds.
  static constexpr int kKinds = 8;
  std::string cycle(int i) {
    std::string n = pfx_ + std::to_string(i);
    switch (i % kKinds) {
      case 0: {  // top-level, limits, exits by itself
        auto cfg = config({"/bin/true"}, true);
        cfg.set_network_mode("none");
        cfg.mutable_resources()->set_mem_bytes(64 << 20);
        cfg.mutable_resources()->set_pids(64);
        return runToExit(n, cfg);
      }
      case 1:  // nested under the long-lived parent
        return runToExit(parent() + "." + n, config({"/bin/true"}, false));
      case 2: {  // top-level on the bridge, destroyed while running
        auto cfg = config({"/bin/sleep", "100000"}, true);
        cfg.set_network_mode(bridged_ ? "bridge" : "none");
        if (auto e = launch(n, cfg); !e.empty()) return e;
        return destroyRunning(n);
      }
      case 3: {  // 3-deep chain, the top destroyed with two levels running
        if (auto e = launch(n, config({"/bin/sleep", "100000"}, true)); !e.empty()) return e;
        std::string mid = n + ".b";
        std::string e = launch(mid, config({"/bin/sleep", "100000"}, false));
        if (e.empty()) e = runToExit(mid + ".c", config({"/bin/true"}, false));
        std::string d = destroyRunning(n);
        return e.empty() ? d : e;
      }
      case 5: {  // a task group of 2 or 4 under the parent, all running, then destroyed
        v1::TaskGroup g;
        g.set_name("g" + std::to_string(i));
        g.set_policy(v1::TaskGroup::KILL_GROUP);
        for (int m = 0; m < ((i / kKinds) % 2 == 0 ? 4 : 2); ++m) {
          auto* mem = g.add_members();
          mem->set_name(n + "m" + std::to_string(m));
          *mem->mutable_config() = config({"/bin/sleep", "100000"}, false);
        }
        auto pid = *parseId(parent());
        auto st = c_.launchGroup(pid, g);
        if (!st) return "launch group " + g.name() + ": " + st.error().message();
        if (static_cast<int>(st->size()) != g.members_size()) return "group " + g.name() + ": not every member launched";
        auto d = c_.destroyGroup(pid, g.name());
        return d ? "" : "destroy group " + g.name() + ": " + d.error().message();
      }
      case 6:
        return corruptRecord(n);
      case 7:
        return crashPoint(n, i);
      default: {  // nested, own or shared pid ns, destroyed while running
        std::string id = parent() + "." + n;
        auto cfg = config({"/bin/sleep", "100000"}, false);
        cfg.set_share_pid_namespace(i % 2 == 0);
        if (auto e = launch(id, cfg); !e.empty()) return e;
        return destroyRunning(id);
      }
    }
  }

  bool bridged_ = true;

 private:
  Containerizer& c_;
  std::string rootfs_;
  std::string pfx_;
};

TEST(ROOT_Soak, MixedLaunchDestroyCyclesLeaveNoResidue) {
  WARREN_REQUIRE_ROOT();
  const int cycles = envInt("WARREN_SOAK_CYCLES", 300);
  const long rss_slack_kb = envInt("WARREN_SOAK_RSS_SLACK_KB", 4096);
  ASSERT_GT(cycles, 0) << "WARREN_SOAK_CYCLES must be a positive number";
  TestEnv env;
  const std::string bridge = "wts" + std::to_string(getpid() % 1000000);
  const bool bridged = envInt("WARREN_SOAK_BRIDGE", 1) != 0;

  Options o = testOptions(env, split(envStr("WARREN_SOAK_ISOLATION", "filesystem/linux,pid,network,volumes,cgroups")));
  o.plugin_flags["network_bridge"] = bridge;
  o.plugin_flags["network_cidr"] = "10.214." + std::to_string(getpid() % 250) + ".0/24";
  o.kill_grace = 1s;

  const auto veths_before = sk::vethLinks();
  const int fds_before = sk::fdCount();
  const int threads_before = sk::threadCount();
  std::vector<std::string> errors;
  std::map<int, std::vector<double>> ms_by_kind;
  long rss_warm = 0, rss_end = 0;
  int fds_warm = 0, fds_end = 0, threads_warm = 0, threads_end = 0;
  const int warm = std::min(50, cycles / 5);
  {
    auto made = Containerizer::create(o);
    ASSERT_TRUE(made.has_value()) << made.error().message();
    Containerizer& c = **made;
    const std::string pfx = "s" + std::to_string(getpid()) + "x";
    Soak soak(c, TestEnv::busyboxRootfs(), pfx);
    soak.bridged_ = bridged;
    soak.runtime_dir_ = env.runtime_dir;
    soak.cli_ = {env.warren_bin, "--work_dir", env.work_dir, "--runtime_dir", env.runtime_dir,
                 "--cgroups_root", env.cgroups_root, "--plugin_dir", env.plugin_dir, "--isolation",
                 envStr("WARREN_SOAK_ISOLATION", "filesystem/linux,pid,network,volumes,cgroups"),
                 "--network_bridge", bridge, "--network_cidr", o.plugin_flags["network_cidr"],
                 "--kill_grace", "1"};
    ASSERT_EQ(soak.startParent(), "");
    for (int i = 0; i < cycles && errors.size() < 5; ++i) {
      if (i == warm) {
        rss_warm = sk::rssKb();
        fds_warm = sk::fdCount();
        threads_warm = sk::threadCount();
      }
      if (i > 0 && i % 100 == 0) {  // the parent goes, with a running child
        std::string e = soak.launch(soak.parent() + ".kid", soak.config({"/bin/sleep", "100000"}, false));
        if (e.empty()) e = soak.destroyRunning(soak.parent());
        if (e.empty()) e = soak.startParent();
        if (!e.empty()) errors.push_back("parent replacement at cycle " + std::to_string(i) + ": " + e);
      }
      auto t0 = std::chrono::steady_clock::now();
      std::string e = soak.cycle(i);
      ms_by_kind[i % Soak::kKinds].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (!e.empty()) errors.push_back("cycle " + std::to_string(i) + ": " + e);
    }
    std::string e = soak.destroyRunning(soak.parent());
    if (!e.empty()) errors.push_back("final destroy: " + e);
    auto left = c.containers();
    ASSERT_TRUE(left.has_value()) << left.error().message();
    for (const auto& ci : *left) errors.push_back("container still known: " + formatId(ci.id));
    rss_end = sk::rssKb();
    fds_end = sk::fdCount();
    threads_end = sk::threadCount();
  }
  const char* kinds[] = {"top-level", "nested",      "bridged+destroy", "3-deep chain",
                         "nested+destroy", "task group", "corrupt record",  "crash point"};
  for (auto& [k, v] : ms_by_kind) {
    std::sort(v.begin(), v.end());
    std::printf("soak: %-16s %4zu cycles, median %.1f ms, max %.1f ms\n", kinds[k], v.size(), v[v.size() / 2], v.back());
  }
  std::printf("soak: rss %ld kB after warm-up, %ld kB at the end; fds %d -> %d; threads %d -> %d\n", rss_warm,
              rss_end, fds_warm, fds_end, threads_warm, threads_end);

  EXPECT_TRUE(errors.empty()) << errors.front() << (errors.size() > 1 ? " (and more)" : "");
  EXPECT_EQ(fds_end, fds_warm) << "fds of the containerizer process grew during the soak";
  EXPECT_EQ(sk::fdCount(), fds_before) << "fds left open after the Containerizer is gone";
  EXPECT_LE(threads_end, threads_warm) << "threads grew during the soak";
  EXPECT_LE(sk::threadCount(), threads_before) << "threads left after the Containerizer is gone";
  EXPECT_LE(rss_end - rss_warm, rss_slack_kb) << "RSS grew by " << (rss_end - rss_warm) << " kB after warm-up";

  // Kernel objects and processes.
  EXPECT_EQ(sk::cgroupsUnder(env.cgroups_root), std::vector<std::string>{});
  EXPECT_EQ(sk::mountsUnder(env.root), std::vector<std::string>{});
  EXPECT_EQ(sk::bridgePorts(bridge), std::vector<std::string>{});
  std::vector<std::string> new_veths;
  for (const auto& v : sk::vethLinks()) {
    if (std::find(veths_before.begin(), veths_before.end(), v) == veths_before.end()) new_veths.push_back(v);
  }
  EXPECT_EQ(new_veths, std::vector<std::string>{});
  EXPECT_EQ(sk::children(), std::vector<pid_t>{});
  EXPECT_EQ(findResidue(tag()), std::vector<std::string>{});
  auto state = sk::entries(env.runtime_dir + "/containers");
  state.erase(std::remove(state.begin(), state.end(), "lock"), state.end());
  EXPECT_EQ(state, std::vector<std::string>{}) << "checkpoints left in the runtime dir";
  EXPECT_EQ(sk::entries(env.work_dir + "/sandboxes"), std::vector<std::string>{}) << "sandboxes left";

  // The bridge itself is shared infrastructure the isolator keeps; ours goes.
  if (!sk::entries("/sys/class/net/" + bridge).empty()) runCmd({"ip", "link", "del", bridge});
  EXPECT_EQ(removeCgroupRoots(tag()), std::vector<std::string>{});
}

}  // namespace
}  // namespace warren::testing
