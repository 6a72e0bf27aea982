// Symlink-exchange race on volume sources (CVE-2021-30465 class): a process
// inside the parent container swaps a real directory with a symlink to a
// host directory (renameat2 RENAME_EXCHANGE, in a tight loop) while nested
// children are launched with that directory as their `parent:` or `host:`
// volume. The volume source is checked at prepare; before the fix
// warren-init opened it again by path, following the swapped-in symlink.
// Every child must either be refused or get the real directory, and the
// host directory must never be touched.
#include <gtest/gtest.h>

#include "security_fixture.hpp"

namespace warren::testing {
namespace {

constexpr int kTries = 150;

struct Outcome {
  int ran = 0, refused = 0;
};

class ROOT_SecurityVolumeRace : public SecurityTest {
 protected:
  // Launches kTries children of `parent` with `volume` at /data, each writing
  // a file there; counts who ran and who was refused.
  Outcome raceChildren(Containerizer& c, const std::string& parent, const std::string& volume,
                       std::vector<std::string>* errors) {
    Outcome o;
    for (int i = 0; i < kTries; ++i) {
      auto cfg = shell("echo pwned > /data/pwned-" + std::to_string(i), false);
      addVolume(cfg, volume);
      std::string cid = parent + ".k" + std::to_string(i);
      auto st = c.launch(id(cid), cfg);
      if (!st) {
        ++o.refused;
        if (errors->size() < 3) errors->push_back(st.error().message());
        continue;
      }
      ++o.ran;
      (void)c.wait(id(cid), std::chrono::seconds(30));
      (void)c.destroy(id(cid));
    }
    return o;
  }
};

TEST_F(ROOT_SecurityVolumeRace, ParentVolumeSwappedForASymlinkToTheHost) {
  std::string secret = hostSecret();
  auto before = snapshot(secret);
  auto c = make();
  ASSERT_TRUE(c);
  auto parent = shell("mkdir -p /x/real && ln -s " + secret + " /x/evil && exec exchange /x real evil");
  addVolume(parent, "sandbox:x:/x");
  ASSERT_TRUE(c->launch(id("racer"), parent));
  ASSERT_TRUE(eventually([&] { return fs::exists(sandboxOf("racer") + "/x/evil"); }));

  std::vector<std::string> errors;
  Outcome o = raceChildren(*c, "racer", "parent:x/real:/data", &errors);
  ASSERT_TRUE(fs::writeFile(sandboxOf("racer") + "/x/stop", ""));
  auto t = c->wait(id("racer"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  std::string swaps = fileOf("racer", "stdout");
  ASSERT_TRUE(c->destroy(id("racer")));

  std::cout << "parent: race: " << o.ran << " ran, " << o.refused << " refused; attacker: " << swaps;
  for (const auto& e : errors) std::cout << "  refused: " << e << "\n";
  EXPECT_NE(swaps.find("exchanges"), std::string::npos) << "the attacker did not run";
  EXPECT_EQ(o.ran + o.refused, kTries);
  EXPECT_EQ(snapshot(secret), before) << "a child wrote into the host directory";
  for (int i = 0; i < kTries; ++i) EXPECT_FALSE(fs::exists(secret + "/pwned-" + std::to_string(i)));
}

TEST_F(ROOT_SecurityVolumeRace, HostVolumeSwappedForASymlinkOutOfTheAllowlist) {
  std::string secret = hostSecret();
  auto before = snapshot(secret);
  std::string allowed = env_.root + "/allowed";
  ASSERT_TRUE(fs::mkdirs(allowed));
  auto c = make({{"host_path_allowlist", allowed}});
  ASSERT_TRUE(c);
  auto parent = shell("mkdir -p /x/real && ln -s " + secret + " /x/evil && exec exchange /x real evil");
  addVolume(parent, "host:" + allowed + ":/x");
  ASSERT_TRUE(c->launch(id("hracer"), parent));
  ASSERT_TRUE(eventually([&] {
    struct stat sb {};
    return ::lstat((allowed + "/evil").c_str(), &sb) == 0 || ::lstat((allowed + "/real").c_str(), &sb) == 0;
  }));

  std::vector<std::string> errors;
  Outcome o = raceChildren(*c, "hracer", "host:" + allowed + "/real:/data", &errors);
  ASSERT_TRUE(fs::writeFile(allowed + "/stop", ""));
  auto t = c->wait(id("hracer"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  std::string swaps = fileOf("hracer", "stdout");
  ASSERT_TRUE(c->destroy(id("hracer")));

  std::cout << "host: race: " << o.ran << " ran, " << o.refused << " refused; attacker: " << swaps;
  for (const auto& e : errors) std::cout << "  refused: " << e << "\n";
  EXPECT_NE(swaps.find("exchanges"), std::string::npos) << "the attacker did not run";
  EXPECT_EQ(snapshot(secret), before) << "a child escaped the allowlist";
  for (int i = 0; i < kTries; ++i) EXPECT_FALSE(fs::exists(secret + "/pwned-" + std::to_string(i)));
}

// Without a race the same volumes work: the checked path is the mounted one.
TEST_F(ROOT_SecurityVolumeRace, SymlinkPlantedInAParentVolumeSourceIsRefused) {
  std::string secret = hostSecret();
  auto c = make();
  ASSERT_TRUE(c);
  // The parent plants the symlink only after the child was prepared is what
  // the race does; planted before, prepare already names it.
  auto parent = shell("mkdir -p /x && ln -s " + secret + " /x/evil; sleep 300");
  addVolume(parent, "sandbox:x:/x");
  ASSERT_TRUE(c->launch(id("p"), parent));
  ASSERT_TRUE(eventually([&] { return fs::exists(sandboxOf("p") + "/x/evil"); }));
  auto cfg = shell("echo pwned > /data/pwned", false);
  addVolume(cfg, "parent:x/evil:/data");
  auto st = c->launch(id("p.k"), cfg);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("symlink"), std::string::npos) << st.error().message();
  EXPECT_FALSE(fs::exists(secret + "/pwned"));
  ASSERT_TRUE(c->destroy(id("p")));
}

}  // namespace
}  // namespace warren::testing
