// End to end through libwarren: a container runs from an OCI layout built
// here (its command, env and working dir from the image config), and a
// nested child runs from a different image.
#include <filesystem>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "fixture.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

using namespace images;

std::string fileOr(const std::string& p) {
  auto r = fs::readFile(p);
  return r ? *r : "";
}

TEST(ROOT_ImageContainerizer, ContainerFromOciLayoutAndAChildFromAnotherImage) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Image parent;
  parent.layers = {busyboxLayer(), {makeTar({file("which", "parent image\n")}), Compression::Gzip}};
  parent.entrypoint = {"/bin/sh", "-c"};
  parent.cmd = {"cat /which; echo $GREETING; sleep 60"};
  parent.env = {"PATH=/bin", "GREETING=hello from the image"};
  Image child;
  child.layers = {busyboxLayer(), {makeTar({file("which", "child image\n")}), Compression::Zstd}};
  child.working_dir = "/tmp";
  child.env = {"PATH=/bin"};
  writeOciLayout(env.root + "/parent", {{"v1", parent}});
  writeOciLayout(env.root + "/child", {{"v1", child}});

  Options o = testOptions(env, {"pid"});
  auto made = Containerizer::create(o);
  ASSERT_TRUE(made) << made.error().message();
  auto& c = **made;

  v1::ContainerConfig pc;
  pc.set_image("oci:" + env.root + "/parent:v1");
  auto pst = c.launch(*parseId("img"), pc);
  ASSERT_TRUE(pst) << pst.error().message();
  std::string pout = env.work_dir + "/sandboxes/img/stdout";
  EXPECT_TRUE(eventually([&] { return fileOr(pout).find("hello from the image") != std::string::npos; }))
      << fileOr(pout);
  EXPECT_EQ(fileOr(pout), "parent image\nhello from the image\n");

  v1::ContainerConfig cc;
  cc.set_image("oci:" + env.root + "/child:v1");
  cc.mutable_command()->set_value("cat /which; pwd; ls /which");
  cc.mutable_command()->set_shell(true);
  auto cst = c.launch(*parseId("img.kid"), cc);
  ASSERT_TRUE(cst) << cst.error().message();
  auto t = c.wait(*parseId("img.kid"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->has_exit_status());
  EXPECT_EQ(t->exit_code(), 0);
  EXPECT_EQ(fileOr(env.work_dir + "/sandboxes/img/containers/kid/stdout"), "child image\n/tmp\n/which\n");
  // The parent's rootfs is untouched by the child's.
  EXPECT_EQ(fileOr(pout), "parent image\nhello from the image\n");

  auto d = c.destroy(*parseId("img"));
  ASSERT_TRUE(d) << d.error().message();
  std::string store = env.work_dir + "/plugins/image";
  EXPECT_TRUE(std::filesystem::is_empty(store + "/containers"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(store + "/layers"),
                          std::filesystem::directory_iterator()),
            3) << "busybox shared by both images, plus one layer each";
}

// Issue #13, case 1: a truncated image record of a mounted rootfs made every
// later `recover` fail. Now the record is quarantined, recover succeeds and
// leaves the container alone, and destroy removes the rootfs warren's own
// checkpoint names.
TEST(ROOT_ImageContainerizer, TruncatedRootfsRecordIsQuarantinedAndRecoverKeepsWorking) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  Image img;
  img.layers = {busyboxLayer(), {makeTar({file("which", "img\n")}), Compression::Gzip}};
  img.entrypoint = {"/bin/sh", "-c"};
  img.cmd = {"sleep 300"};
  writeOciLayout(env.root + "/img", {{"v1", img}});
  auto made = Containerizer::create(testOptions(env, {"pid"}));
  ASSERT_TRUE(made) << made.error().message();
  auto& c = **made;
  v1::ContainerConfig cfg;
  cfg.set_image("oci:" + env.root + "/img:v1");
  auto st = c.launch(*parseId("rec"), cfg);
  ASSERT_TRUE(st) << st.error().message();
  std::string store = env.work_dir + "/plugins/image";
  std::string rec = store + "/containers/rec.json";
  auto bytes = fs::readFile(rec);
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(fs::writeFile(rec, bytes->substr(0, bytes->size() / 2)));

  for (int i = 0; i < 2; ++i) {
    auto r = c.recover();
    EXPECT_TRUE(r) << "recover " << i << ": " << r.error().message();
  }
  EXPECT_TRUE(fs::exists(rec + ".quarantined"));
  EXPECT_EQ(::kill(st->pid(), 0), 0) << "the container was killed";
  EXPECT_TRUE(fs::exists(st->rootfs() + "/which")) << "the rootfs was removed";
  // A prune must not remove the layers an unreadable record may use.
  auto pr = c.pruneImages();
  ASSERT_TRUE(pr) << pr.error().message();
  for (const auto& r : pr->removed()) EXPECT_EQ(r.find("layer"), std::string::npos) << r;

  auto d = c.destroy(*parseId("rec"), std::chrono::milliseconds(0));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_FALSE(fs::exists(st->rootfs()));
  EXPECT_TRUE(std::filesystem::is_empty(store + "/containers"));
}

}  // namespace
}  // namespace warren::testing
