// The volumes isolator loaded through the real plugin host: what it
// describes, which directories it creates, and that bad volumes are refused
// (one line naming the volume) before anything is created. No root needed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "isolator_plugin.hpp"
#include "test_env.hpp"
#include "volume_spec.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

constexpr const char* kFile = "isolator_volumes.so";

class VolumesPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_dir = env.root + "/host";
    ASSERT_TRUE(fs::mkdirs(host_dir + "/data"));
    plugin = std::make_unique<IsolatorPlugin>(env, kFile, "volumes",
                                              std::map<std::string, std::string>{
                                                  {"host_path_allowlist", host_dir}});
    ASSERT_TRUE(plugin->plugin) << plugin->error;
    parent.mutable_id()->add_path("p");
    parent.set_sandbox(env.work_dir + "/sandboxes/p");
    parent.set_depth(1);
    ASSERT_TRUE(fs::mkdirs(parent.sandbox()));
    *child.mutable_id() = childOf(parent.id(), "c");
    child.set_sandbox(parent.sandbox() + "/containers/c");
    child.set_depth(2);
    ASSERT_TRUE(fs::mkdirs(child.sandbox()));
    *child.mutable_parent()->mutable_id() = parent.id();
    child.mutable_parent()->set_sandbox(parent.sandbox());
    child.mutable_parent()->set_pid(1);
  }

  static void add(v1::ContainerContext& c, const std::string& spec) {
    auto v = volumes::parseVolumeSpec(spec);
    ASSERT_TRUE(v) << v.error().message();
    *c.mutable_config()->add_volumes() = *v;
  }

  // Every path below the sandboxes, to show nothing was created.
  std::vector<std::string> tree() {
    std::vector<std::string> out;
    auto r = runCmd({"find", env.work_dir + "/sandboxes"});
    size_t pos = 0;
    while (pos < r.out.size()) {
      size_t nl = r.out.find('\n', pos);
      out.push_back(r.out.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }

  TestEnv env;
  std::string host_dir;
  std::unique_ptr<IsolatorPlugin> plugin;
  v1::ContainerContext parent, child;
};

TEST_F(VolumesPluginTest, DescribesEveryKindOfVolume) {
  add(child, "tmpfs:1m:/scratch");
  add(child, "sandbox:data/sub:/data/sub");
  add(child, "parent:shared:/shared");
  add(child, "host:" + host_dir + "/data:/host:ro");
  add(child, "sandbox:top:/data");
  auto li = plugin->prepare(child);
  ASSERT_TRUE(li) << li.error().message();
  ASSERT_EQ(li->mounts_size(), 5);
  // Outer paths first: /data before /data/sub, whatever the config order.
  std::vector<std::string> order;
  for (const auto& m : li->mounts()) order.push_back(m.target());
  EXPECT_LT(std::find(order.begin(), order.end(), "/data") - order.begin(),
            std::find(order.begin(), order.end(), "/data/sub") - order.begin());
  for (const auto& m : li->mounts()) {
    EXPECT_TRUE(m.create_dir()) << m.target();
    if (m.target() == "/scratch") {
      EXPECT_EQ(m.type(), "tmpfs");
      EXPECT_NE(std::find(m.options().begin(), m.options().end(), "size=1048576"), m.options().end());
    } else if (m.target() == "/shared") {
      EXPECT_EQ(m.type(), "bind");
      EXPECT_EQ(m.source(), parent.sandbox() + "/shared");
    } else if (m.target() == "/host") {
      EXPECT_EQ(m.source(), host_dir + "/data");
      EXPECT_NE(std::find(m.options().begin(), m.options().end(), "ro"), m.options().end());
    } else if (m.target() == "/data/sub") {
      EXPECT_EQ(m.source(), child.sandbox() + "/data/sub");
    }
  }
  struct stat st {};
  EXPECT_EQ(::stat((child.sandbox() + "/data/sub").c_str(), &st), 0);
  EXPECT_EQ(::stat((parent.sandbox() + "/shared").c_str(), &st), 0);
  // A PARENT volume's data outlives the child's cleanup.
  ASSERT_TRUE(fs::writeFile(parent.sandbox() + "/shared/f", "kept"));
  ASSERT_TRUE(plugin->cleanup(child.id()));
  EXPECT_EQ(*fs::readFile(parent.sandbox() + "/shared/f"), "kept");
}

TEST_F(VolumesPluginTest, DisallowedHostPathIsRefusedBeforeAnythingIsMade) {
  add(child, "sandbox:made:/made");
  add(child, "parent:made-too:/made-too");
  add(child, "host:/etc:/etc2");
  auto before = tree();
  auto li = plugin->prepare(child);
  ASSERT_FALSE(li);
  EXPECT_EQ(li.error().code(), Code::InvalidArgument);
  EXPECT_NE(li.error().message().find("volume 3 (host:/etc:/etc2): host path '/etc' is not under an "
                                      "allowed prefix (host_path_allowlist: " + host_dir + ")"),
            std::string::npos)
      << li.error().message();
  EXPECT_EQ(li.error().message().find('\n'), std::string::npos);
  EXPECT_EQ(tree(), before);
}

TEST_F(VolumesPluginTest, BadVolumesAreNamed) {
  struct Case {
    bool nested;
    v1::Volume volume;
    std::string message;
  };
  auto vol = [](v1::Volume::Source s, const std::string& src, const std::string& dst, uint64_t size = 0) {
    v1::Volume v;
    v.set_source(s);
    v.set_source_path(src);
    v.set_container_path(dst);
    v.set_size_bytes(size);
    return v;
  };
  ASSERT_EQ(::symlink("/etc", (parent.sandbox() + "/evil").c_str()), 0);
  std::vector<Case> cases = {
      {false, vol(v1::Volume::SANDBOX_PARENT, "x", "/x"),
       "volume 1 (parent:x:/x): a parent sandbox volume needs a nested container (this one has no parent)"},
      {true, vol(v1::Volume::TMPFS, "", "/t"), "volume 1 (tmpfs:0:/t): a tmpfs volume needs a size"},
      {true, vol(v1::Volume::SANDBOX_SELF, "x", "rel"),
       "volume 1 (sandbox:x:rel): container path 'rel' is not absolute"},
      {true, vol(v1::Volume::SANDBOX_SELF, "x", "/a/../../etc"),
       "volume 1 (sandbox:x:/a/../../etc): container path '/a/../../etc' must not contain '..'"},
      {true, vol(v1::Volume::SANDBOX_SELF, "../../p", "/x"),
       "volume 1 (sandbox:../../p:/x): sandbox path '../../p' must not contain '..'"},
      {true, vol(v1::Volume::HOST_PATH, host_dir + "/missing", "/x"),
       "volume 1 (host:" + host_dir + "/missing:/x): host path '" + host_dir + "/missing' does not exist"},
      {true, vol(v1::Volume::SANDBOX_PARENT, "evil/x", "/x"),
       "volume 1 (parent:evil/x:/x): '" + parent.sandbox() +
           "/evil' is a symlink or not a directory; refusing to follow it"},
      {true, vol(v1::Volume::SOURCE_UNSPECIFIED, "", "/x"), "volume 1 (?::/x): volume has no source type"},
  };
  auto before = tree();
  for (const auto& c : cases) {
    v1::ContainerContext ctx = c.nested ? child : parent;
    *ctx.mutable_config()->add_volumes() = c.volume;
    auto li = plugin->prepare(ctx);
    ASSERT_FALSE(li) << c.message;
    EXPECT_EQ(li.error().code(), Code::InvalidArgument) << c.message;
    EXPECT_NE(li.error().message().find(c.message), std::string::npos)
        << "got: " << li.error().message() << "\nwant: " << c.message;
  }
  // Two volumes on one path.
  v1::ContainerContext dup = child;
  add(dup, "sandbox:a:/same");
  add(dup, "tmpfs:1m:/same");
  auto li = plugin->prepare(dup);
  ASSERT_FALSE(li);
  EXPECT_NE(li.error().message().find("volume 2 (tmpfs:1m:/same): container path '/same' is used by another volume"),
            std::string::npos)
      << li.error().message();
  EXPECT_EQ(tree(), before);
}

TEST_F(VolumesPluginTest, ConfigIsChecked) {
  IsolatorPlugin bad(env, kFile, "volumes", {}, R"({"tmpfs_mode": "99"})");
  EXPECT_EQ(bad.plugin, nullptr);
  EXPECT_NE(bad.error.find("invalid config: tmpfs_mode '99' is not an octal mode"), std::string::npos) << bad.error;
  IsolatorPlugin limited(env, kFile, "volumes", {}, R"({"max_tmpfs_bytes": 1048576})");
  ASSERT_TRUE(limited.plugin) << limited.error;
  add(parent, "tmpfs:2m:/t");
  auto li = limited.prepare(parent);
  ASSERT_FALSE(li);
  EXPECT_NE(li.error().message().find("tmpfs size 2097152 exceeds the limit of 1048576 bytes"), std::string::npos);
  IsolatorPlugin badflag(env, kFile, "volumes", {{"host_path_allowlist", "/ok,rel"}});
  EXPECT_EQ(badflag.plugin, nullptr);
  EXPECT_NE(badflag.error.find("host_path_allowlist entry 'rel' is not absolute"), std::string::npos);
}

}  // namespace
}  // namespace warren::testing
