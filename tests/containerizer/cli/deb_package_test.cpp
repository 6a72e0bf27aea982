// The Debian packages: cpack builds warren and warren-dev from the build
// tree, dpkg installs them into a scratch root (dpkg --root, its own
// database: the machine's packages are untouched), `warren run` works from
// the installed paths, and dpkg -r leaves no file behind.
#include <filesystem>

#include "cli_helpers.hpp"
#include "fixture.hpp"

namespace warren::testing {
namespace {

namespace sfs = std::filesystem;

class ROOT_DebPackage : public ContainerizerTest {};

std::vector<std::string> filesUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& p : treeOf(dir)) {
    if (!sfs::is_directory(p)) out.push_back(p);
  }
  return out;
}

TEST_F(ROOT_DebPackage, BuildsInstallsRunsAndRemovesCleanly) {
  std::string pkg = env_.root + "/pkg";
  auto built = runCmd({"cpack", "-G", "DEB", "--config", std::string(WARREN_TEST_BUILD_DIR) + "/CPackConfig.cmake",
                       "-B", pkg},
                      std::chrono::seconds(600));
  ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
  std::string deb, dev;
  for (const auto& f : filesUnder(pkg)) {
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".deb") == 0 && f.find("/_CPack_Packages/") == std::string::npos) {
      (sfs::path(f).filename().string().rfind("warren-dev_", 0) == 0 ? dev : deb) = f;
    }
  }
  ASSERT_FALSE(deb.empty()) << built.out;
  ASSERT_FALSE(dev.empty()) << built.out;
  auto contents = runCmd({"dpkg-deb", "-c", deb}).out;
  for (const char* f : {"./usr/bin/warren", "./usr/share/man/man1/warren.1", "/warren/plugins/",
                        "/warren/warren-init", "./usr/share/bash-completion/completions/warren",
                        "./usr/share/zsh/vendor-completions/_warren", "libwarren_proto.so."}) {
    EXPECT_NE(contents.find(f), std::string::npos) << f << " missing from " << deb << ":\n" << contents;
  }
  auto devContents = runCmd({"dpkg-deb", "-c", dev}).out;
  EXPECT_NE(devContents.find("warren/sdk/abi.h"), std::string::npos) << devContents;
  EXPECT_NE(devContents.find("warrenConfig.cmake"), std::string::npos) << devContents;
  EXPECT_EQ(devContents.find("./usr/lib/libwarren_proto.so."), std::string::npos) << "shipped by warren: " << devContents;

  // A scratch root with an empty dpkg database.
  std::string root = env_.root + "/root";
  for (const char* d : {"/var/lib/dpkg/info", "/var/lib/dpkg/updates", "/var/lib/dpkg/triggers", "/var/log"}) {
    sfs::create_directories(root + d);
  }
  ASSERT_TRUE(fs::writeFile(root + "/var/lib/dpkg/status", ""));
  std::vector<std::string> dpkg = {"dpkg", "--root=" + root, "--log=" + root + "/var/log/dpkg.log",
                                   "--force-depends", "--force-script-chrootless"};
  auto install = dpkg;
  install.insert(install.end(), {"-i", deb, dev});
  auto in = runCmd(install, std::chrono::seconds(120));
  ASSERT_EQ(in.exit_code, 0) << in.out << in.err;

  std::string bin = root + "/usr/bin/warren";
  std::vector<std::string> base = {bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
                                   "--cgroups_root", env_.cgroups_root, "--isolation", "pid"};
  auto plugins = base;
  plugins.insert(plugins.end(), {"--json", "plugins"});
  auto listed = runCmd(plugins);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(root + "/usr/lib"), std::string::npos) << "plugins from the installed tree: " << listed.out;
  auto run = base;
  run.insert(run.end(), {"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "echo from-deb; exit 5"});
  auto r = runCmd(run);
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "from-deb\n");
  EXPECT_EQ(runCmd({bin, "--version"}).exit_code, 0);
  expectEmptyState();

  auto remove = dpkg;
  remove.insert(remove.end(), {"--purge", "warren-dev", "warren"});
  auto out = runCmd(remove, std::chrono::seconds(120));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(filesUnder(root + "/usr"), std::vector<std::string>{}) << "dpkg -r left files behind";
}

}  // namespace
}  // namespace warren::testing
