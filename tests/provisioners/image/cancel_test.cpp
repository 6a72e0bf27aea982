// Issue #13: a destroy of a container whose image is being pulled stops the
// pull (the provisioner polls the cancel file warren writes) and leaves no
// partial layer, in process and out of process; a pull that another
// container waits for goes on for that one. A task group gives up the state
// lock while a member's image is pulled, and a destroy of a member or of
// the parent rolls the whole group back without waiting for the pull.
// The registry (slow_registry.hpp) stalls the layer halfway and is released
// only after the assertions: a destroy that returns while it still stalls
// has aborted the pull; nothing here depends on timing.
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "fixture.hpp"
#include "slow_registry.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

using namespace images;
using Clock = std::chrono::steady_clock;

constexpr size_t kFiller = 8u << 20;      // incompressible bytes in the layer
constexpr size_t kStallAfter = 1u << 20;  // sent before the registry stalls

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

long msSince(Clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// busybox plus 8 MiB of random bytes (uncompressed): one big layer.
class SlowImage {
 public:
  explicit SlowImage(TestEnv& env) : layout_(env.root + "/layout") {
    std::mt19937_64 rng(42);
    std::string filler(kFiller, '\0');
    for (size_t i = 0; i + 8 <= filler.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&filler[i], &v, 8);
    }
    Layer base = busyboxLayer();
    Image img;
    img.layers = {base, {makeTar({dir("opt"), file("opt/filler", filler)}), Compression::None}};
    img.entrypoint = {"/bin/sleep", "300"};
    auto digests = writeOciLayout(layout_, {{"v1", img}});
    registry_ = std::make_unique<SlowRegistry>(layout_, std::map<std::string, std::string>{{"v1", digests[0]}});
    registry_->stallBlobsOver(kFiller, kStallAfter);
  }
  SlowRegistry& registry() { return *registry_; }
  std::string ref() const { return "docker://" + registry_->host() + "/warren/slow:v1"; }

 private:
  std::string layout_;
  std::unique_ptr<SlowRegistry> registry_;
};

Options slowOptions(const TestEnv& env, const SlowRegistry& r, bool out_of_process) {
  Options o = testOptions(env, {"pid"});
  o.plugin_flags["registry_insecure"] = r.host();
  o.plugin_flags["image_provisioner_backend"] = "copy";
  o.kill_grace = std::chrono::milliseconds(0);
  if (out_of_process) o.plugin_isolation["image"] = "process";
  return o;
}

v1::ContainerConfig imageConfig(const std::string& ref) {
  v1::ContainerConfig c;
  c.set_image(ref);
  return c;
}

v1::ContainerConfig sleeper() {
  v1::ContainerConfig c;
  c.set_rootfs(TestEnv::busyboxRootfs());
  c.mutable_command()->set_value("/bin/sleep");
  c.mutable_command()->add_arguments("300");
  return c;
}

std::string store(const TestEnv& env) { return env.work_dir + "/plugins/image"; }

class ROOT_ImagePullCancel : public ::testing::TestWithParam<bool> {};

TEST_P(ROOT_ImagePullCancel, DestroyAbortsTheStalledPullAndTheWaitingPullGoesOn) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  SlowImage img(env);
  auto made = Containerizer::create(slowOptions(env, img.registry(), GetParam()));
  ASSERT_TRUE(made) << made.error().message();
  auto& c = **made;

  Result<v1::ContainerStatus> ra = fail(Code::Internal, "not run"), rb = fail(Code::Internal, "not run");
  std::thread a([&] { ra = c.launch(*parseId("a"), imageConfig(img.ref())); });
  ASSERT_TRUE(eventually([&] { return img.registry().stalled() == 1; }, std::chrono::seconds(60)))
      << "a's layer never reached the registry's stall point";
  // b pulls the same image: it waits for the layer a is unpacking.
  std::thread b([&] { rb = c.launch(*parseId("b"), imageConfig(img.ref())); });
  ASSERT_TRUE(eventually([&] {
    auto s = c.status(*parseId("b"));
    return s && s->state() == v1::PROVISIONING;
  }));

  auto t0 = Clock::now();
  auto t = c.destroy(*parseId("a"));
  long destroy_ms = msSince(t0);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::LAUNCH_FAILED) << t->message();
  a.join();
  ASSERT_FALSE(ra) << "a's launch should have been cancelled";
  EXPECT_NE(ra.error().message().find("destroyed while provisioning"), std::string::npos) << ra.error().message();
  // The registry was never released: the transfer was aborted by the client.
  EXPECT_TRUE(eventually([&] { return img.registry().aborted() >= 1; })) << "the stalled transfer was not aborted";
  std::cout << "destroy of a container mid-pull (" << (GetParam() ? "out of process" : "in process")
            << "): returned in " << destroy_ms << " ms\n";
  EXPECT_FALSE(fs::exists(env.runtime_dir + "/containers/a"));
  EXPECT_FALSE(fs::exists(store(env) + "/containers/a.json"));

  // b took the layer over: its own transfer of it stalls in turn, and a's
  // staging dir is gone (only b's is there).
  ASSERT_TRUE(eventually([&] { return img.registry().stalled() == 2; }, std::chrono::seconds(30)))
      << "b never fetched the layer a gave up";
  auto tmp = entries(store(env) + "/tmp");
  EXPECT_EQ(tmp.size(), 1u) << ::testing::PrintToString(tmp);
  img.registry().release();
  b.join();
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_EQ(rb->state(), v1::RUNNING);
  EXPECT_TRUE(entries(store(env) + "/tmp").empty()) << ::testing::PrintToString(entries(store(env) + "/tmp"));
  auto tb = c.destroy(*parseId("b"));
  ASSERT_TRUE(tb) << tb.error().message();
  EXPECT_TRUE(entries(env.runtime_dir + "/containers").empty());
}

INSTANTIATE_TEST_SUITE_P(Placement, ROOT_ImagePullCancel, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "OutOfProcess" : "InProcess"; });

class ROOT_GroupPull : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    img_ = std::make_unique<SlowImage>(env_);
    auto made = Containerizer::create(slowOptions(env_, img_->registry(), false));
    ASSERT_TRUE(made) << made.error().message();
    c_ = std::move(*made);
    ASSERT_TRUE(c_->launch(*parseId("pod"), sleeper()));
  }
  void TearDown() override {
    if (img_) img_->registry().release();
    if (group_.joinable()) group_.join();
    if (!c_) return;
    for (const char* id : {"pod", "other", "third"}) {
      auto st = c_->status(*parseId(id));
      if (st) (void)c_->destroy(*parseId(id));
    }
    EXPECT_TRUE(entries(env_.runtime_dir + "/containers").empty());
  }
  // Group "g" under pod: "slow" pulls the stalled image, "plain" has none.
  void launchGroup() {
    v1::TaskGroup g;
    g.set_name("g");
    auto* plain = g.add_members();
    plain->set_name("plain");
    *plain->mutable_config() = sleeper();
    plain->mutable_config()->clear_rootfs();
    auto* slow = g.add_members();
    slow->set_name("slow");
    *slow->mutable_config() = imageConfig(img_->ref());
    group_ = std::thread([this, g] { group_result_ = c_->launchGroup(*parseId("pod"), g); });
    ASSERT_TRUE(eventually([&] { return img_->registry().stalled() == 1; }, std::chrono::seconds(60)))
        << "the member's layer never reached the registry's stall point";
  }
  // The CLI, so a lock held by mistake fails by timeout instead of hanging.
  CmdResult cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir",
                                     env_.runtime_dir, "--cgroups_root", env_.cgroups_root, "--plugin_dir",
                                     env_.plugin_dir, "--isolation", "pid", "--kill_grace", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(30));
  }

  TestEnv env_;
  std::unique_ptr<SlowImage> img_;
  std::unique_ptr<Containerizer> c_;
  std::thread group_;
  Result<std::vector<v1::ContainerStatus>> group_result_ = fail(Code::Internal, "not run");
};

TEST_F(ROOT_GroupPull, KillAndLaunchOfOthersCompleteWhileAMemberPulls) {
  ASSERT_TRUE(c_->launch(*parseId("other"), sleeper()));
  launchGroup();
  auto t0 = Clock::now();
  auto k = cli({"kill", "other", "KILL"});
  long kill_ms = msSince(t0);
  EXPECT_EQ(k.exit_code, 0) << k.err;
  t0 = Clock::now();
  auto l = cli({"launch", "--id", "third", "--rootfs", TestEnv::busyboxRootfs(), "--", "/bin/sleep", "300"});
  long launch_ms = msSince(t0);
  EXPECT_EQ(l.exit_code, 0) << l.err;
  // A recover by another process leaves the live group launch alone: its
  // members, its checkpoint and the pull's staging dir.
  auto rec = cli({"recover"});
  EXPECT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_TRUE(fs::exists(env_.runtime_dir + "/containers/pod/groups/g"));
  EXPECT_EQ(entries(store(env_) + "/tmp").size(), 1u);
  auto w = c_->wait(*parseId("other"), std::chrono::seconds(30));
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(w->reason(), v1::Termination::KILLED);
  // All of it happened while the member's pull was still stalled.
  EXPECT_EQ(img_->registry().stalled(), 1);
  EXPECT_EQ(img_->registry().aborted(), 0);
  auto s = c_->status(*parseId("pod.slow"));
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->state(), v1::PROVISIONING);
  std::cout << "while a group member's image was pulled: kill took " << kill_ms << " ms, launch " << launch_ms
            << " ms (CLI processes)\n";
  img_->registry().release();
  group_.join();
  ASSERT_TRUE(group_result_) << group_result_.error().message();
  ASSERT_EQ(group_result_->size(), 2u);
  for (const auto& m : *group_result_) EXPECT_EQ(m.state(), v1::RUNNING) << formatId(m.id());
}

TEST_F(ROOT_GroupPull, DestroyOfAMemberMidPullRollsTheGroupBack) {
  launchGroup();
  auto t0 = Clock::now();
  auto t = c_->destroy(*parseId("pod.plain"));
  long ms = msSince(t0);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::LAUNCH_FAILED) << t->message();
  group_.join();
  ASSERT_FALSE(group_result_);
  EXPECT_TRUE(eventually([&] { return img_->registry().aborted() == 1; })) << "the member's pull went on";
  std::cout << "destroy of a group member while another pulls: returned in " << ms << " ms\n";
  EXPECT_FALSE(c_->status(*parseId("pod.slow")));
  EXPECT_FALSE(c_->status(*parseId("pod.plain")));
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/pod/groups/g"));
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/pod/groups/g.cancel"));
  EXPECT_TRUE(entries(store(env_) + "/tmp").empty());
  EXPECT_TRUE(entries(store(env_) + "/layers").size() <= 1u);  // busybox's may be complete
  auto pod = c_->status(*parseId("pod"));
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->state(), v1::RUNNING);
}

TEST_F(ROOT_GroupPull, DestroyOfTheParentMidPullCancelsTheGroup) {
  launchGroup();
  auto t = c_->destroy(*parseId("pod"));
  ASSERT_TRUE(t) << t.error().message();
  group_.join();
  ASSERT_FALSE(group_result_);
  EXPECT_TRUE(eventually([&] { return img_->registry().aborted() == 1; })) << "the member's pull went on";
  EXPECT_TRUE(entries(env_.runtime_dir + "/containers").empty());
  EXPECT_TRUE(entries(store(env_) + "/tmp").empty());
  EXPECT_TRUE(entries(store(env_) + "/containers").empty());
}

}  // namespace
}  // namespace warren::testing
