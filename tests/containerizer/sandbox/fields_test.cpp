// Every config field is the core's or taken by an isolator in use; any other
// is refused naming the field and the isolator that would take it, learned
// from the INFO of the plugins found (issue #18).
#include <gtest/gtest.h>

#include "sandbox_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_ConfigFields = SandboxTest;

std::string refusal(Containerizer& c, const std::string& cid, const v1::ContainerConfig& cfg) {
  auto l = c.launch(*parseId(cid), cfg);
  EXPECT_FALSE(l) << cid << " was launched";
  if (l) {
    (void)c.destroy(*parseId(cid));
    return "";
  }
  return l.error().message();
}

TEST_F(ROOT_ConfigFields, AFieldNoIsolatorInUseTakesIsRefusedNamingIt) {
  auto c = make({"pid"});
  ASSERT_TRUE(c);
  auto cfg = shell("true");
  cfg.mutable_resources()->set_disk_bytes(10 << 20);
  EXPECT_EQ(refusal(*c, "disk", cfg),
            "container 'disk': resources.disk_bytes is set but no isolator in --isolation takes it (isolator "
            "'disk/du' would: add it to --isolation; isolator 'disk/xfs' would: add it to --isolation)");


  cfg = shell("true");
  addVolume(cfg, v1::Volume::SANDBOX_SELF, "d", "/d");
  EXPECT_EQ(refusal(*c, "vol", cfg),
            "container 'vol': volumes is set but no isolator in --isolation takes it (isolator "
            "'volumes' would: add it to --isolation)");

  cfg = shell("true");
  cfg.mutable_resources()->set_mem_bytes(64 << 20);
  EXPECT_NE(refusal(*c, "mem", cfg).find("resources.mem_bytes is set but no isolator in --isolation takes "
                                         "it (isolator 'cgroups' would: add it to --isolation)"),
            std::string::npos);

  cfg = shell("true");
  cfg.mutable_resources()->set_gpus(1);
  EXPECT_NE(refusal(*c, "gpu", cfg).find("isolator 'gpu/nvidia' would"), std::string::npos);

  cfg = shell("true");
  cfg.set_network_mode("none");
  EXPECT_NE(refusal(*c, "net", cfg).find("network_mode is set"), std::string::npos);
  expectEmptyState();
}

TEST_F(ROOT_ConfigFields, FieldsOfIsolatorsInUseAndTheCoresOwnAreAccepted) {
  auto c = make({"pid", "volumes"});
  ASSERT_TRUE(c);
  auto cfg = shell("ls -d /d && echo $E");
  addVolume(cfg, v1::Volume::SANDBOX_SELF, "d", "/d");
  (*cfg.mutable_env())["E"] = "e";
  cfg.set_working_dir("/");
  cfg.mutable_resources();  // present but empty: nothing set
  auto st = c->launch(id("ok"), cfg);
  ASSERT_TRUE(st) << st.error().message();
  auto t = c->wait(id("ok"), std::chrono::seconds(30));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit_code(), 0) << fileOf("ok", "stderr");
  EXPECT_EQ(stdoutOf("ok"), "/d\ne\n");
  ASSERT_TRUE(c->destroy(id("ok")));
}

}  // namespace
}  // namespace warren::testing
