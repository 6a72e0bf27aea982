// The seccomp isolator end to end: a default container's command runs under
// the default filter (dangerous calls EPERM, unknown ones ENOSYS), a custom
// profile applies, a malformed one fails the launch with one line and leaves
// nothing, `unconfined` runs without a filter, nested containers get theirs.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "containerizer_options.hpp"
#include "test_env.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

// unshare_user last: after it succeeds the probe is in a new user namespace,
// where mount and further user namespaces are refused by the kernel.
const char* const kProbes[] = {"keyctl", "add_key", "request_key", "bpf", "kexec_load", "mount",
                               "clone_newuser", "mkdir", "getpid", "io_uring_setup", "personality",
                               "unshare_user"};

class ROOT_Seccomp : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    rootfs_ = env_.makeRootfs();
    std::filesystem::copy_file(WARREN_SECCOMP_PROBE, rootfs_ + "/bin/syscall_probe");
    auto c = Containerizer::create(testOptions(env_, {"filesystem/linux", "pid", "seccomp"}));
    ASSERT_TRUE(c) << c.error().message();
    c_ = std::move(*c);
  }

  static v1::ContainerID id(const std::string& s) { return *parseId(s); }

  v1::ContainerConfig probe(const std::string& profile = "", bool nested = false) {
    v1::ContainerConfig c;
    if (!nested) c.set_rootfs(rootfs_);
    std::string script = "grep -E '^Seccomp:' /proc/self/status; /bin/syscall_probe";
    for (const char* p : kProbes) script += std::string(" ") + p;
    c.mutable_command()->set_value("/bin/sh");
    c.mutable_command()->add_arguments("-c");
    c.mutable_command()->add_arguments(script);
    if (!profile.empty()) (*c.mutable_isolator_settings())["seccomp.profile"] = profile;
    return c;
  }

  // Runs to the end; "Seccomp" and each probe -> result.
  std::map<std::string, std::string> run(const std::string& cid, const v1::ContainerConfig& cfg) {
    auto st = c_->launch(id(cid), cfg);
    EXPECT_TRUE(st) << (st ? "" : st.error().message());
    if (!st) return {};
    auto t = c_->wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t) << (t ? "" : t.error().message());
    std::string sandbox = env_.work_dir + "/sandboxes/";
    for (char ch : cid) sandbox += ch == '.' ? std::string("/containers/") : std::string(1, ch);
    auto out = fs::readFile(sandbox + "/stdout");
    EXPECT_TRUE(c_->destroy(id(cid)));
    std::map<std::string, std::string> m;
    std::istringstream in(out ? *out : "");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Seccomp:", 0) == 0) m["Seccomp"] = line.substr(line.find_first_not_of(" \t", 8));
      auto eq = line.find('=');
      if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
  }

  TestEnv env_;
  std::string rootfs_;
  std::unique_ptr<Containerizer> c_;
};

TEST_F(ROOT_Seccomp, DefaultProfileDeniesWhatDockersDefaultDenies) {
  auto def = run("dflt", probe());
  auto open = run("open", probe("unconfined"));
  std::printf("%-16s %-12s %s\n", "call", "default", "unconfined");
  for (const char* p : kProbes) std::printf("%-16s %-12s %s\n", p, def[p].c_str(), open[p].c_str());
  EXPECT_EQ(def["Seccomp"], "2");
  for (const char* p : {"keyctl", "add_key", "request_key", "bpf", "kexec_load", "unshare_user",
                        "clone_newuser", "mount"}) {
    EXPECT_EQ(def[p], "EPERM") << p;
  }
  // Calls the profile does not know look absent (libcs fall back).
  EXPECT_EQ(def["io_uring_setup"], "ENOSYS");
  EXPECT_EQ(def["mkdir"], "ok");
  EXPECT_EQ(def["getpid"], "ok");
  EXPECT_EQ(def["personality"], "ok");
  // Without the filter the same calls reach the kernel: the EPERMs above are
  // the filter's, not a missing capability's.
  EXPECT_EQ(open["Seccomp"], "0");
  EXPECT_EQ(open["keyctl"], "ok");
  EXPECT_EQ(open["add_key"], "ok");
  EXPECT_EQ(open["unshare_user"], "ok");
  EXPECT_EQ(open["clone_newuser"], "ok");
  EXPECT_NE(open["kexec_load"], "EPERM");
  EXPECT_NE(open["io_uring_setup"], "ENOSYS");
  // The compiled default is cached in the plugin's runtime dir, for the next
  // process (a CLI launches one container per process).
  int cached = 0;
  for (const auto& e : std::filesystem::directory_iterator(env_.runtime_dir + "/plugins/seccomp")) {
    const std::string n = e.path().filename();
    if (n.rfind("default-", 0) == 0 && e.file_size() > 0 && e.file_size() % 8 == 0) ++cached;
  }
  EXPECT_EQ(cached, 1);
}

TEST_F(ROOT_Seccomp, CustomProfileDenyingMkdirFromJsonAndFile) {
  const std::string json = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})";
  auto inl = run("inl", probe(json));
  EXPECT_EQ(inl["Seccomp"], "2");
  EXPECT_EQ(inl["mkdir"], "EACCES");
  EXPECT_EQ(inl["keyctl"], "ok");  // this profile allows everything else
  std::string path = env_.root + "/deny-mkdir.json";
  std::ofstream(path) << json;
  auto file = run("file", probe(path));
  EXPECT_EQ(file["mkdir"], "EACCES");
  EXPECT_EQ(file["getpid"], "ok");
}

TEST_F(ROOT_Seccomp, MalformedProfileIsAOneLineErrorAndLeavesNothing) {
  auto cfg = probe(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_DENY"}]})");
  auto st = c_->launch(id("bad"), cfg);
  ASSERT_FALSE(st);
  const std::string msg = st.error().message();
  EXPECT_NE(msg.find("seccomp profile (inline): syscalls[0].action: unknown action 'SCMP_ACT_DENY'"),
            std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  auto missing = c_->launch(id("missing"), probe("/nonexistent/profile.json"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("seccomp profile '/nonexistent/profile.json'"), std::string::npos)
      << missing.error().message();
  auto word = c_->launch(id("word"), probe("strict"));
  ASSERT_FALSE(word);
  EXPECT_NE(word.error().message().find("must be default, unconfined, an absolute path or inline JSON"),
            std::string::npos) << word.error().message();
  auto list = c_->containers();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(std::filesystem::is_empty(env_.work_dir + "/sandboxes"));
}

TEST_F(ROOT_Seccomp, AddedCapabilityUnlocksItsCalls) {
  auto cfg = probe();
  cfg.add_capabilities("CAP_SYS_ADMIN");
  auto admin = run("admin", cfg);
  EXPECT_EQ(admin["Seccomp"], "2");
  EXPECT_EQ(admin["unshare_user"], "ok");
  EXPECT_EQ(admin["mount"], "ok");
  EXPECT_EQ(admin["clone_newuser"], "ok");
  EXPECT_EQ(admin["bpf"], "EINVAL");  // reaches the kernel, which rejects the bogus command
  EXPECT_EQ(admin["keyctl"], "EPERM");  // keyrings: never
}

TEST_F(ROOT_Seccomp, NestedContainersGetTheFilterToo) {
  v1::ContainerConfig parent;
  parent.set_rootfs(rootfs_);
  parent.mutable_command()->set_value("/bin/sleep");
  parent.mutable_command()->add_arguments("300");
  ASSERT_TRUE(c_->launch(id("par"), parent));
  auto kid = run("par.kid", probe("", /*nested=*/true));
  EXPECT_EQ(kid["Seccomp"], "2");
  EXPECT_EQ(kid["keyctl"], "EPERM");
  EXPECT_EQ(kid["unshare_user"], "EPERM");
  // Even a parent that is unconfined does not make its child so.
  ASSERT_TRUE(c_->destroy(id("par")));
  auto open = parent;
  (*open.mutable_isolator_settings())["seccomp.profile"] = "unconfined";
  ASSERT_TRUE(c_->launch(id("par2"), open));
  auto kid2 = run("par2.kid", probe("", true));
  EXPECT_EQ(kid2["Seccomp"], "2");
  EXPECT_EQ(kid2["add_key"], "EPERM");
  ASSERT_TRUE(c_->destroy(id("par2")));
}

}  // namespace
}  // namespace warren::testing
