// Defaults as tight as crun's: the command's capability sets (measured
// against crun itself when it is installed), capabilities added by the
// config, and the values the core refuses before anything exists: hostnames
// that are not RFC 1123, an empty --isolation, an empty --id.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "fixture.hpp"

namespace warren::testing {
namespace {

using Caps = std::map<std::string, std::string>;  // "CapEff" -> "0000000020000420"

Caps capsOf(const std::string& status) {
  Caps m;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Cap", 0) != 0) continue;
    auto colon = line.find(':');
    m[line.substr(0, colon)] = line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return m;
}

// crun's default container (`crun spec`), run on the same rootfs, prints its
// /proc/self/status. crun refuses this VM's hybrid cgroup layout, so it runs
// in a private mount namespace without /sys/fs/cgroup/unified (as bench/ does).
std::string crunStatus(const std::string& dir, const std::string& rootfs, std::string* why) {
  std::filesystem::create_directories(dir + "/bundle");
  auto spec = runCmd({"/bin/sh", "-c", "cd " + dir + "/bundle && crun spec"});
  if (spec.exit_code != 0) { *why = "crun spec: " + spec.err; return ""; }
  const std::string cg = "/" + tag() + "-crun";
  // Edit the generated spec: no terminal, our rootfs and command, a cgroup
  // path of ours.
  std::ifstream f(dir + "/bundle/config.json");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string cfg = ss.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    auto p = cfg.find(from);
    if (p != std::string::npos) cfg.replace(p, from.size(), to);
    return p != std::string::npos;
  };
  bool ok = replace("\"terminal\": true", "\"terminal\": false") &&
            replace("\"sh\"", "\"cat\", \"/proc/self/status\"") &&
            replace("\"path\": \"rootfs\"", "\"path\": \"" + rootfs + "\"") &&
            replace("\"linux\": {", "\"linux\": {\"cgroupsPath\": \"" + cg + "/probe\",");
  if (!ok) { *why = "crun spec's output has an unexpected shape"; return ""; }
  std::ofstream(dir + "/bundle/config.json") << cfg;
  auto r = runCmd({"unshare", "-m", "/bin/sh", "-c",
                   "mount --make-rprivate / && { umount -l /sys/fs/cgroup/unified 2>/dev/null; true; } && "
                   "exec crun --root " + dir + "/state run --bundle " + dir + "/bundle " + tag() + "-crun"});
  for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
    ::rmdir((h.path().string() + cg + "/probe").c_str());
    ::rmdir((h.path().string() + cg).c_str());
  }
  if (r.exit_code != 0) { *why = "crun run failed: " + r.err; return ""; }
  return r.out;
}

class ROOT_SecurityDefaults : public ContainerizerTest {};

TEST_F(ROOT_SecurityDefaults, DefaultCapabilitiesEqualCruns) {
  auto c = make({"filesystem/linux", "pid"});
  auto [t, out] = runToEnd(*c, "caps", shell("cat /proc/self/status"));
  Caps ours = capsOf(out);
  // CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10).
  const std::string kSet = "0000000020000420", kNone = "0000000000000000";
  EXPECT_EQ(ours["CapEff"], kSet) << out;
  EXPECT_EQ(ours["CapPrm"], kSet);
  EXPECT_EQ(ours["CapBnd"], kSet);
  EXPECT_EQ(ours["CapInh"], kNone);
  EXPECT_EQ(ours["CapAmb"], kNone);
  if (::access("/usr/bin/crun", X_OK) != 0) {
    std::printf("crun is not installed (apt-get install crun): compared with crun's documented "
                "default set only\n");
    return;
  }
  std::string why;
  Caps theirs = capsOf(crunStatus(env_.root + "/crun", rootfs_, &why));
  ASSERT_FALSE(theirs.empty()) << why;
  for (const auto& [k, v] : theirs) std::printf("%s  crun %s  warren %s\n", k.c_str(), v.c_str(), ours[k].c_str());
  EXPECT_EQ(ours, theirs);
}

TEST_F(ROOT_SecurityDefaults, ConfigAddsCapabilitiesAndANonRootUserHoldsNone) {
  auto c = make({"filesystem/linux", "pid"});
  auto cfg = shell("cat /proc/self/status");
  cfg.add_capabilities("CAP_NET_RAW");
  cfg.add_capabilities("chown");
  auto [t, out] = runToEnd(*c, "more", cfg);
  Caps caps = capsOf(out);
  EXPECT_EQ(caps["CapEff"], "0000000020002421") << out;  // + CHOWN (0), NET_RAW (13)
  EXPECT_EQ(caps["CapBnd"], "0000000020002421");
  EXPECT_EQ(caps["CapInh"], "0000000000000000");
  EXPECT_EQ(caps["CapAmb"], "0000000000000000");

  auto user = shell("cat /proc/self/status");
  user.set_user("1000:1000");
  auto [t2, out2] = runToEnd(*c, "user", user);
  Caps ucaps = capsOf(out2);
  EXPECT_EQ(ucaps["CapEff"], "0000000000000000") << out2;
  EXPECT_EQ(ucaps["CapPrm"], "0000000000000000");
  EXPECT_EQ(ucaps["CapBnd"], "0000000020000420");

  auto bad = shell("true");
  bad.add_capabilities("CAP_NOPE");
  auto r = c->launch(id("bad"), bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "container 'bad': unknown capability 'CAP_NOPE'");
  expectEmptyState();
}

TEST_F(ROOT_SecurityDefaults, HostnamesMustBeRfc1123) {
  auto c = make({"filesystem/linux", "pid"});
  const std::pair<std::string, std::string> bad[] = {
      {"bad\nname", "invalid hostname 'bad?name': only letters, digits, '-' and '.' are allowed (RFC 1123)"},
      {std::string("nul\0x", 5), "invalid hostname 'nul?x': only letters, digits, '-' and '.' are allowed (RFC 1123)"},
      {"a b", "invalid hostname 'a b': only letters, digits, '-' and '.' are allowed (RFC 1123)"},
      {"a..b", "invalid hostname 'a..b': empty label"},
      {"-web", "invalid hostname '-web': a label starts or ends with '-'"},
      {std::string(64, 'x'), "invalid hostname '" + std::string(64, 'x') + "': a label is longer than 63 characters"},
      {"under_score", "invalid hostname 'under_score': only letters, digits, '-' and '.' are allowed (RFC 1123)"},
  };
  for (const auto& [name, want] : bad) {
    auto cfg = shell("true");
    cfg.set_hostname(name);
    auto r = c->launch(id("h"), cfg);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().message(), "container 'h': " + want);
  }
  expectEmptyState();
  auto good = shell("hostname");
  good.set_hostname("web-1.example.com");
  auto [t, out] = runToEnd(*c, "good", good);
  EXPECT_EQ(out, "web-1.example.com\n");
}

TEST_F(ROOT_SecurityDefaults, EmptyIsolationIsRefused) {
  auto r = Containerizer::create(options({}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "no isolators: Options.isolation (--isolation) is empty; libwarren has no default list, so name at "
            "least one isolator (containers without any are not supported)");
  // libwarren has no default list: an embedding agent states its isolators
  // (the front ends' default is their --isolation flag's).
  EXPECT_TRUE(Options{}.isolation.empty());
  auto blank = Containerizer::create(options({"pid", ""}));
  ASSERT_FALSE(blank);
  EXPECT_EQ(blank.error().message(), "--isolation names an empty isolator");
}

TEST_F(ROOT_SecurityDefaults, CliRefusesEmptyIdEmptyIsolationAndBadHostname) {
  std::vector<std::string> base = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir",
                                   env_.runtime_dir, "--cgroups_root", env_.cgroups_root,
                                   "--plugin_dir", env_.plugin_dir};
  auto run = [&](std::vector<std::string> args) {
    auto argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  };
  auto iso = run({"--isolation", "", "ps"});
  EXPECT_NE(iso.exit_code, 0);
  EXPECT_NE(iso.err.find("--isolation names no isolator"), std::string::npos) << iso.err;
  auto id = run({"--isolation", "pid", "run", "--id", "", "--rootfs", rootfs_, "--", "true"});
  EXPECT_NE(id.exit_code, 0);
  EXPECT_NE(id.err.find("invalid container ID: empty"), std::string::npos) << id.err;
  auto host = run({"--isolation", "pid", "run", "--hostname", "x\ny", "--rootfs", rootfs_, "--", "true"});
  EXPECT_NE(host.exit_code, 0);
  EXPECT_NE(host.err.find("invalid hostname 'x?y'"), std::string::npos) << host.err;
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
