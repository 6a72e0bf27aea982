// `warren images pull` progress from a loopback registry (slow_registry.hpp),
// end to end through the CLI: plain lines off a terminal (exact text), a bar
// per layer redrawn in place with bytes, rate and ETA on a terminal (a pty),
// and "cached" when nothing was fetched.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "image_builder.hpp"
#include "slow_registry.hpp"
#include "test_env.hpp"

namespace warren::testing {
namespace {

using namespace images;
using Clock = std::chrono::steady_clock;

constexpr size_t kFiller = 4u << 20;      // incompressible bytes in layer 2
constexpr size_t kStallAfter = 1u << 20;  // sent before the registry stalls it

class ROOT_ImageProgress : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    std::mt19937_64 rng(7);
    std::string filler(kFiller, '\0');
    for (size_t i = 0; i + 8 <= filler.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&filler[i], &v, 8);
    }
    Image img;
    img.layers = {busyboxLayer(), {makeTar({dir("opt"), file("opt/filler", filler)}), Compression::None}};
    img.cmd = {"/bin/true"};
    auto digests = writeOciLayout(env_.root + "/layout", {{"v1", img}});
    registry_ = std::make_unique<SlowRegistry>(env_.root + "/layout",
                                               std::map<std::string, std::string>{{"v1", digests[0]}});
  }
  void TearDown() override {
    if (registry_) registry_->release();
  }
  std::string ref() const { return "docker://" + registry_->host() + "/warren/progress:v1"; }
  std::vector<std::string> argv(std::vector<std::string> args) {
    std::vector<std::string> a = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
                                  "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir,
                                  "--isolation", "pid", "--daemon=never", "--registry_insecure", registry_->host()};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }
  TestEnv env_;
  std::unique_ptr<SlowRegistry> registry_;
};

TEST_F(ROOT_ImageProgress, PlainLinesOffATerminalThenCached) {
  auto pull = runCmd(argv({"images", "pull", ref()}), std::chrono::seconds(120));
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.err.find('\033'), std::string::npos) << "no escape codes off a terminal: " << pull.err;
  // Per layer: "<item>: fetching <size>" when it starts, "<item padded>  done <size>" when it ends.
  std::regex line(R"(^(layer [12]/2 sha256:[0-9a-f]{12}): fetching [0-9.]+ (B|KiB|MiB)$|^(layer [12]/2 sha256:[0-9a-f]{12}) +done [0-9.]+ (B|KiB|MiB)$)");
  std::istringstream in(pull.err);
  std::string l;
  int fetching = 0, done = 0;
  while (std::getline(in, l)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    if (l.find(": fetching ") != std::string::npos) ++fetching;
    else ++done;
  }
  EXPECT_EQ(fetching, 2) << pull.err;
  EXPECT_EQ(done, 2) << pull.err;
  EXPECT_NE(pull.err.find(": fetching 4.0 MiB\n"), std::string::npos) << "layer 2's size: " << pull.err;
  EXPECT_EQ(pull.err.find("cached"), std::string::npos) << pull.err;

  auto again = runCmd(argv({"images", "pull", ref()}), std::chrono::seconds(120));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::regex cached(R"(^layer [12]/2 sha256:[0-9a-f]{12} +cached$)");
  int cachedLines = 0;
  std::istringstream ain(again.err);
  while (std::getline(ain, l)) cachedLines += std::regex_match(l, cached) ? 1 : 0;
  EXPECT_EQ(cachedLines, 2) << again.err;
  EXPECT_NE(again.err.find(ref() + ": cached (nothing fetched)\n"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("fetching"), std::string::npos) << again.err;
}

TEST_F(ROOT_ImageProgress, BarsRedrawnInPlaceOnATerminal) {
  registry_->stallBlobsOver(kFiller, kStallAfter);
  auto args = argv({"images", "pull", ref()});
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  winsize ws{};
  ws.ws_row = 40;
  ws.ws_col = 160;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  std::string acc;
  auto readUntil = [&](const std::function<bool()>& pred, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!pred()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) return pred();
      acc.append(buf, static_cast<size_t>(n));
    }
    return true;
  };
  // Layer 2 stalls at 1 MiB of 4 MiB: its bar shows bytes, a rate and an ETA.
  std::regex bar(R"(layer 2/2 sha256:[0-9a-f]{12} +\[=+ +\] 1\.0 MiB / 4\.0 MiB  [0-9.]+ (B|KiB|MiB)/s  ETA [0-9]+:[0-9]{2})");
  bool sawBar = readUntil([&] { return std::regex_search(acc, bar); }, std::chrono::seconds(60));
  registry_->release();
  readUntil([] { return false; }, std::chrono::seconds(60));  // until the pty closes (warren exited)
  int st = 0;
  bool exited = eventually([&] { return waitpid(pid, &st, WNOHANG) == pid; }, std::chrono::seconds(30));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  close(master);
  EXPECT_TRUE(sawBar) << acc;
  ASSERT_TRUE(exited) << acc;
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << acc;
  // Redrawn in place: the cursor goes back up over both bars and each line is cleared.
  EXPECT_NE(acc.find("\033[2A"), std::string::npos) << acc;
  EXPECT_NE(acc.find("\r\033[K"), std::string::npos) << acc;
  std::regex done(R"(layer 2/2 sha256:[0-9a-f]{12} +done 4\.0 MiB)");
  EXPECT_TRUE(std::regex_search(acc, done)) << acc;
  EXPECT_EQ(acc.find("cached"), std::string::npos) << acc;
}

// Through warrend (--daemon=always) the pull happens in warrend; its progress
// comes back as SUBSCRIBE's PULL_PROGRESS events and is shown the same way.
TEST_F(ROOT_ImageProgress, ThroughWarrendTheSameLines) {
  std::vector<std::string> dargv = {std::string(WARREN_TEST_BIN_DIR) + "/warrend", "--work_dir", env_.work_dir,
                                    "--runtime_dir", env_.runtime_dir, "--cgroups_root", env_.cgroups_root,
                                    "--plugin_dir", env_.plugin_dir, "--init_path", env_.init_path, "--isolation",
                                    "pid", "--registry_insecure", registry_->host()};
  pid_t d = fork();
  ASSERT_GE(d, 0);
  if (d == 0) {
    int fd = open((env_.root + "/warrend.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> a;
    for (auto& x : dargv) a.push_back(x.data());
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  auto args = [&](std::vector<std::string> rest) {
    auto a = argv(std::move(rest));
    for (auto& x : a) {
      if (x == "--daemon=never") x = "--daemon=always";
    }
    return a;
  };
  bool up = eventually([&] { return runCmd(args({"ps"})).exit_code == 0; }, std::chrono::seconds(30));
  EXPECT_TRUE(up);
  if (up) {
    auto run = runCmd(args({"run", "--image", ref()}), std::chrono::seconds(120));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.err.find(": fetching 4.0 MiB\n"), std::string::npos) << run.err;
    std::regex done(R"(layer 2/2 sha256:[0-9a-f]{12} +done 4\.0 MiB\n)");
    EXPECT_TRUE(std::regex_search(run.err, done)) << run.err;
  }
  kill(d, SIGTERM);
  int st = 0;
  waitpid(d, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

}  // namespace
}  // namespace warren::testing
