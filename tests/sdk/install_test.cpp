// An install is self-contained and relocatable, and what the README promises
// an embedder or a vendor compiles as written:
//  - `cmake --install <build> --prefix P`, then P moved elsewhere: the CLI and
//    libwarren find warren-init and the plugins relative to their own files,
//    and `P/bin/warren run` runs a container with no path flag at all;
//  - the README's embedding program, read from README.md (so the two cannot
//    drift), builds against P with find_package(warren CONFIG) and with
//    pkg-config, and runs a container through libwarren;
//  - the example plugin builds against P's SDK out of tree, passes the
//    installed conformance kit, and runs in a container launched by P's CLI;
//  - the example plugin is installed only with the `examples` component.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "test_env.hpp"

namespace warren::testing {
namespace {

namespace sfs = std::filesystem;

std::string show(const std::vector<std::string>& argv, const CmdResult& r) {
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  return cmd + "\nexit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

CmdResult mustRun(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(300)) {
  auto r = runCmd(argv, timeout);
  EXPECT_EQ(r.exit_code, 0) << show(argv, r);
  return r;
}

// The first ```cpp block of the README's "## Embedding libwarren" section.
std::string readmeSnippet() {
  std::ifstream in(std::string(WARREN_TEST_SOURCE_DIR) + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto section = text.find("\n## Embedding libwarren\n");
  if (section == std::string::npos) return "";
  auto begin = text.find("```cpp\n", section);
  auto next_section = text.find("\n## ", section + 1);
  if (begin == std::string::npos || (next_section != std::string::npos && begin > next_section)) return "";
  begin += 7;
  auto end = text.find("\n```", begin);
  return end == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

// Flags an out-of-tree build needs to link this build's libraries (its
// sanitizers, in a sanitizer lane); empty otherwise.
std::vector<std::string> ootCmakeFlags() {
  const std::string f = WARREN_OOT_FLAGS;
  if (f.empty()) return {};
  return {"-DCMAKE_CXX_FLAGS=" + f, "-DCMAKE_EXE_LINKER_FLAGS=" + f, "-DCMAKE_MODULE_LINKER_FLAGS=" + f,
          "-DCMAKE_SHARED_LINKER_FLAGS=" + f};
}

std::vector<std::string> with(std::vector<std::string> argv, const std::vector<std::string>& more) {
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

bool writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

class ROOT_InstallPrefix : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "skipped: needs root";
    rootfs_ = TestEnv::busyboxRootfs();
  }
  std::vector<std::string> warren(const std::string& prefix, std::vector<std::string> rest) {
    std::vector<std::string> argv = {prefix + "/bin/warren", "--work_dir", env_.work_dir, "--runtime_dir",
                                     env_.runtime_dir, "--cgroups_root", env_.cgroups_root};
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  }
  void expectNoContainers() {
    std::error_code ec;
    for (const auto& d : {env_.runtime_dir + "/containers", env_.work_dir + "/sandboxes"}) {
      if (!sfs::is_directory(d, ec)) continue;
      for (const auto& e : sfs::directory_iterator(d, ec)) {
        EXPECT_EQ(e.path().filename(), "lock") << "left behind: " << e.path();
      }
    }
  }
  TestEnv env_;
  std::string rootfs_;
};

TEST_F(ROOT_InstallPrefix, MovedInstallRunsContainersAndBuildsTheReadmeProgramAndAPlugin) {
  const std::string installed = env_.root + "/installed", prefix = env_.root + "/moved";
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--install", WARREN_TEST_BUILD_DIR, "--prefix", installed}));
  EXPECT_TRUE(sfs::exists(installed + "/lib/warren/plugins/isolator_pid.so"));
  EXPECT_FALSE(sfs::exists(installed + "/lib/warren/plugins/isolator_example_greeting.so"))
      << "the example plugin is installed only with the examples component";
  // Moved after installing: nothing may depend on the path it was installed to.
  sfs::rename(installed, prefix);

  // 1. The CLI, with no --plugin_dir or --init_path: everything from the prefix.
  auto listed = mustRun(warren(prefix, {"--isolation", "pid", "--json", "plugins"}));
  EXPECT_NE(listed.out.find(prefix + "/lib/warren/plugins/isolator_pid.so"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(std::string(WARREN_TEST_BUILD_DIR) + "/plugins"), std::string::npos) << listed.out;
  auto run_argv = warren(prefix, {"--isolation", "filesystem/linux,pid", "run", "--rootfs", rootfs_, "--", "/bin/sh",
                                  "-c", "echo from-prefix; exit 5"});
  auto run = runCmd(run_argv);
  EXPECT_EQ(run.exit_code, 5) << show(run_argv, run);
  EXPECT_EQ(run.out, "from-prefix\n");
  expectNoContainers();

  // 2. The README's embedding program, built out of tree with find_package.
  const std::string snippet = readmeSnippet();
  ASSERT_NE(snippet.find("int main("), std::string::npos) << "no ```cpp program under README's ## Embedding libwarren";
  const std::string agent = env_.root + "/agent";
  sfs::create_directories(agent);
  ASSERT_TRUE(writeText(agent + "/agent.cpp", snippet));
  ASSERT_TRUE(writeText(agent + "/CMakeLists.txt",
                        "cmake_minimum_required(VERSION 3.22)\n"
                        "project(agent CXX)\n"
                        "set(CMAKE_CXX_STANDARD 20)\n"
                        "find_package(warren CONFIG REQUIRED)\n"
                        "add_executable(agent agent.cpp)\n"
                        "target_link_libraries(agent PRIVATE warren::warren)\n"));
  ASSERT_NO_FATAL_FAILURE(mustRun(with({"cmake", "-S", agent, "-B", agent + "/build",
                                        "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"},
                                       ootCmakeFlags())));
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--build", agent + "/build", "-j2"}));
  // libwarren (from the prefix) finds warren-init and the plugins next to itself.
  std::vector<std::string> agent_argv = {agent + "/build/agent", env_.work_dir, env_.runtime_dir, env_.cgroups_root,
                                         rootfs_};
  auto embedded = runCmd(agent_argv, std::chrono::seconds(60));
  EXPECT_EQ(embedded.exit_code, 0) << show(agent_argv, embedded);
  EXPECT_EQ(embedded.out, "hello from the agent\nexit code 7\n") << show(agent_argv, embedded);
  expectNoContainers();

  // 3. The same program with pkg-config (warren.pc, relocatable prefix).
  const std::string pc = "PKG_CONFIG_PATH=" + prefix + "/lib/pkgconfig";
  ASSERT_NO_FATAL_FAILURE(mustRun({"sh", "-c",
                                   pc + " g++ -std=c++20 " + WARREN_OOT_FLAGS + " -o " + agent + "/agent-pc " + agent + "/agent.cpp $(" + pc +
                                       " pkg-config --cflags --libs warren) -Wl,-rpath," + prefix + "/lib"}));
  agent_argv[0] = agent + "/agent-pc";
  auto via_pc = runCmd(agent_argv, std::chrono::seconds(60));
  EXPECT_EQ(via_pc.exit_code, 0) << show(agent_argv, via_pc);
  EXPECT_EQ(via_pc.out, "hello from the agent\nexit code 7\n") << show(agent_argv, via_pc);
  auto sdk_pc = mustRun({"sh", "-c", pc + " pkg-config --variable=plugindir warren-sdk"});
  EXPECT_EQ(sdk_pc.out, prefix + "/lib/pkgconfig/../../lib/warren/plugins\n");
  expectNoContainers();

  // 4. A vendor's plugin against the installed SDK: builds, passes the
  // installed conformance kit, and runs in a container of the installed CLI.
  const std::string plugin = env_.root + "/plugin";
  ASSERT_NO_FATAL_FAILURE(mustRun(with({"cmake", "-S", std::string(WARREN_TEST_SOURCE_DIR) + "/plugins/examples",
                                        "-B", plugin, "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"},
                                       ootCmakeFlags())));
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--build", plugin, "-j2"}));
  const std::string so = plugin + "/isolator_example_greeting.so";
  auto kit = runCmd({prefix + "/bin/warren-plugin-check", so, "--cgroups_root", env_.cgroups_root});
  EXPECT_EQ(kit.exit_code, 0) << kit.out << kit.err;
  EXPECT_NE(kit.out.find("ok   identity: isolator_example_greeting.so, com.example.isolator.example.greeting"),
            std::string::npos)
      << kit.out;
  EXPECT_NE(kit.out.find("ok   host logging: "), std::string::npos) << kit.out;
  auto greet_argv = warren(prefix, {"--plugin_dir", plugin, "--plugin_dir", prefix + "/lib/warren/plugins",
                                    "--isolation", "filesystem/linux,pid,example/greeting", "--isolator_config",
                                    R"(example/greeting={"greeting":"hi from a vendor"})", "run", "--rootfs",
                                    rootfs_, "--", "/bin/sh", "-c", "echo $GREETING"});
  auto greet = runCmd(greet_argv);
  EXPECT_EQ(greet.exit_code, 0) << show(greet_argv, greet);
  EXPECT_EQ(greet.out, "hi from a vendor\n") << show(greet_argv, greet);
  expectNoContainers();
}

// One identity per plugin, enforced: a descriptor name other than the one
// derived from the short name is a compile error, a config proto at another
// path a configure error - both naming what was expected.
TEST(InstalledSdk, IdentityMismatchesAreBuildErrors) {
  TestEnv env;
  const std::string prefix = env.root + "/sdk";
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--install", WARREN_TEST_BUILD_DIR, "--prefix", prefix, "--component", "sdk"}));
  auto project = [&](const std::string& dir, const std::string& name, const std::string& proto_rel) {
    sfs::create_directories(sfs::path(dir + "/proto/" + proto_rel).parent_path());
    EXPECT_TRUE(writeText(dir + "/proto/" + proto_rel,
                          "syntax = \"proto3\";\npackage acme.isolators.acme_quota;\nmessage Config {}\n"));
    EXPECT_TRUE(writeText(dir + "/quota.cpp",
                          "#include \"warren/sdk/plugin.hpp\"\n"
                          "struct Quota : warren::sdk::Isolator {\n"
                          "  static warren::Result<std::unique_ptr<Quota>> create(const warren::v1::PluginContext&) {\n"
                          "    return std::make_unique<Quota>();\n  }\n};\n"
                          "WARREN_ISOLATOR_PLUGIN(Quota, \"" + name + "\", \"acme/quota\", \"1.0\")\n"));
    EXPECT_TRUE(writeText(dir + "/CMakeLists.txt",
                          "cmake_minimum_required(VERSION 3.22)\nproject(quota CXX)\nset(CMAKE_CXX_STANDARD 20)\n"
                          "find_package(warren CONFIG REQUIRED)\n"
                          "warren_add_plugin(NAME acme/quota KIND isolator VENDOR com.acme SOURCES quota.cpp\n"
                          "  PROTOS proto/" + proto_rel + ")\n"));
  };
  auto configure = [&](const std::string& dir) {
    return runCmd(with({"cmake", "-S", dir, "-B", dir + "/build", "-DCMAKE_PREFIX_PATH=" + prefix}, ootCmakeFlags()),
                  std::chrono::seconds(120));
  };
  // Right names: builds isolator_acme_quota.so.
  const std::string good = env.root + "/good";
  project(good, "com.acme.isolator.acme.quota", "acme/isolators/acme_quota/config.proto");
  auto c = configure(good);
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--build", good + "/build"}));
  EXPECT_TRUE(sfs::exists(good + "/build/isolator_acme_quota.so"));
  // A descriptor name of its own: the compiler says which one it must be.
  const std::string named = env.root + "/named";
  project(named, "com.acme.quota", "acme/isolators/acme_quota/config.proto");
  ASSERT_EQ(configure(named).exit_code, 0);
  auto built = runCmd({"cmake", "--build", named + "/build"}, std::chrono::seconds(120));
  EXPECT_NE(built.exit_code, 0);
  EXPECT_NE((built.out + built.err).find("plugin name must be com.acme.isolator.acme.quota"), std::string::npos)
      << built.out << built.err;
  // A config proto elsewhere: a configure error naming the expected path.
  const std::string misplaced = env.root + "/misplaced";
  project(misplaced, "com.acme.isolator.acme.quota", "com/acme/quota/config.proto");
  auto conf = configure(misplaced);
  EXPECT_NE(conf.exit_code, 0);
  EXPECT_NE(conf.err.find("'acme/isolators/acme_quota/<file>.proto'"), std::string::npos) << conf.err;
}

TEST(InstallComponents, ExamplePluginOnlyWithItsComponent) {
  TestEnv env;
  const std::string prefix = env.root + "/examples";
  mustRun({"cmake", "--install", WARREN_TEST_BUILD_DIR, "--prefix", prefix, "--component", "examples"});
  std::vector<std::string> files;
  for (const auto& e : sfs::recursive_directory_iterator(prefix)) {
    if (!e.is_directory()) files.push_back(sfs::relative(e.path(), prefix).string());
  }
  EXPECT_EQ(files, std::vector<std::string>{"lib/warren/plugins/isolator_example_greeting.so"});
}

// The installed warrend (sbin/) and the installed warren CLI from a moved
// prefix: warrend finds its plugins and warren-init relative to itself, and
// `warren --daemon=always run` launches through it with the same exit code.
TEST_F(ROOT_InstallPrefix, InstalledWarrendServesTheInstalledCli) {
  const std::string installed = env_.root + "/installed", prefix = env_.root + "/moved";
  ASSERT_NO_FATAL_FAILURE(mustRun({"cmake", "--install", WARREN_TEST_BUILD_DIR, "--prefix", installed}));
  sfs::rename(installed, prefix);
  ASSERT_TRUE(sfs::exists(prefix + "/sbin/warrend"));
  const std::string log = env_.root + "/warrend.log";
  std::vector<std::string> dargv = {prefix + "/sbin/warrend", "--work_dir", env_.work_dir, "--runtime_dir",
                                    env_.runtime_dir, "--cgroups_root", env_.cgroups_root, "--isolation",
                                    "filesystem/linux,pid", "--log_level", "info"};
  pid_t d = ::fork();
  ASSERT_GE(d, 0);
  if (d == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> a;
    for (auto& x : dargv) a.push_back(x.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  auto readLog = [&] {
    std::ifstream f(log);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  auto cli = [&](std::vector<std::string> rest) {
    auto argv = warren(prefix, {"--isolation", "filesystem/linux,pid", "--daemon=always"});
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  };
  bool up = eventually([&] { return runCmd(cli({"ps"})).exit_code == 0; }, std::chrono::seconds(30));
  EXPECT_TRUE(up) << readLog();
  if (up) {
    auto run_argv = cli({"run", "--id", "viad", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "echo via-warrend; exit 6"});
    auto run = runCmd(run_argv);
    EXPECT_EQ(run.exit_code, 6) << show(run_argv, run) << readLog();
    EXPECT_EQ(run.out, "via-warrend\n") << show(run_argv, run);
    std::string l = readLog();
    EXPECT_NE(l.find("container_id=viad launched by host root"), std::string::npos) << l;
    // Its plugins are the prefix's (loaded in warrend for the launch).
    std::ifstream maps("/proc/" + std::to_string(d) + "/maps");
    std::stringstream ms;
    ms << maps.rdbuf();
    EXPECT_NE(ms.str().find(prefix + "/lib/warren/plugins/isolator_pid.so"), std::string::npos) << ms.str();
    EXPECT_EQ(ms.str().find(std::string(WARREN_TEST_BUILD_DIR) + "/plugins"), std::string::npos) << ms.str();
  }
  ::kill(d, SIGTERM);
  int st = 0;
  ::waitpid(d, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << readLog();
  expectNoContainers();
}

}  // namespace
}  // namespace warren::testing
