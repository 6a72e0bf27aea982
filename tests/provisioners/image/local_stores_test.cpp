// The image provisioner on local stores (OCI layout, oci-archive,
// docker-archive) with every backend, through the real plugin host.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

using namespace images;

std::string readFile(const std::string& p) {
  auto r = fs::readFile(p);
  return r ? *r : "<missing " + p + ">";
}

Image busyboxImage() {
  Image img;
  img.layers = {busyboxLayer(), {makeTar({dir("etc"), file("etc/motd", "from layer 2\n")}), Compression::Zstd}};
  img.entrypoint = {"/bin/sh", "-c"};
  img.cmd = {"cat /etc/motd"};
  img.env = {"PATH=/bin", "GREETING=hi"};
  img.working_dir = "/tmp";
  img.user = "65534:65534";
  return img;
}

// Three layers exercising every whiteout case.
Image whiteoutImage() {
  Image img;
  img.layers.push_back({makeTar({dir("a"), file("a/keep", "v1"), file("a/gone", "x"), dir("a/sub"),
                                 file("a/sub/x", "x"), dir("opq"), file("opq/old1", "1"), file("opq/old2", "2"),
                                 dir("d2f"), file("d2f/in", "i"), file("f2d", "f"), symlink("link", "a/keep"),
                                 file("exec", "#!/bin/sh\n", 0755), hardlink("a/hl", "a/keep")}),
                        Compression::Gzip});
  img.layers.push_back({makeTar({file("a/.wh.gone", ""), file("opq/.wh..wh..opq", ""), file("opq/new1", "n"),
                                 file("d2f", "now a file"), dir("f2d", 0700), file("f2d/inner", "in"),
                                 dir("b"), file("b/c", "c", 0600)}),
                        Compression::None});
  img.layers.push_back({makeTar({file(".wh.link", ""), file("a/sub/.wh.x", ""), file("a/keep", "v3")}),
                        Compression::Zstd});
  return img;
}

void expectWhiteoutTree(const std::string& root) {
  EXPECT_EQ(readFile(root + "/a/keep"), "v3");
  EXPECT_FALSE(fs::exists(root + "/a/gone"));
  EXPECT_TRUE(fs::exists(root + "/a/sub"));
  EXPECT_FALSE(fs::exists(root + "/a/sub/x"));
  EXPECT_FALSE(fs::exists(root + "/opq/old1"));
  EXPECT_FALSE(fs::exists(root + "/opq/old2"));
  EXPECT_EQ(readFile(root + "/opq/new1"), "n");
  EXPECT_EQ(readFile(root + "/d2f"), "now a file");
  EXPECT_EQ(readFile(root + "/f2d/inner"), "in");
  EXPECT_FALSE(fs::exists(root + "/link"));
  EXPECT_EQ(readFile(root + "/b/c"), "c");
  EXPECT_EQ(readFile(root + "/a/hl"), "v1");
}

TEST(ROOT_ImageProvisioner, BusyboxOciLayoutWithCopyRunsAndDestroys) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string layout = p.env.root + "/busybox-oci";
  writeOciLayout(layout, {{"v1", busyboxImage()}});
  auto r = p.provision("c1", "oci:" + layout + ":v1", "copy");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->backend(), "copy");
  EXPECT_EQ(r->rootfs(), p.env.root + "/rootfs-c1");
  const auto& cfg = r->image_config();
  EXPECT_EQ(std::vector<std::string>(cfg.entrypoint().begin(), cfg.entrypoint().end()),
            (std::vector<std::string>{"/bin/sh", "-c"}));
  ASSERT_EQ(cfg.cmd_size(), 1);
  EXPECT_EQ(cfg.cmd(0), "cat /etc/motd");
  ASSERT_EQ(cfg.env_size(), 2);
  EXPECT_EQ(cfg.env(1), "GREETING=hi");
  EXPECT_EQ(cfg.working_dir(), "/tmp");
  EXPECT_EQ(cfg.user(), "65534:65534");
  auto out = runCmd({"chroot", r->rootfs(), "/bin/sh", "-c", "cat /etc/motd; ls /bin/busybox"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "from layer 2\n/bin/busybox\n");
  EXPECT_EQ(p.storeEntries("layers").size(), 2u);
  ASSERT_TRUE(p.destroy("c1"));
  EXPECT_FALSE(fs::exists(r->rootfs()));
  EXPECT_TRUE(p.storeEntries("containers").empty());
  EXPECT_EQ(p.storeEntries("layers").size(), 2u) << "layers stay until pruned";
  ASSERT_TRUE(p.destroy("c1")) << "destroy is idempotent";
  ASSERT_TRUE(p.destroy("never-seen"));
}

TEST(ROOT_ImageProvisioner, AutoBackendPicksOverlayWhenUsable) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string layout = p.env.root + "/oci";
  writeOciLayout(layout, {{"v1", busyboxImage()}});
  auto r = p.provision("auto", "oci:" + layout + ":v1");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->backend(), overlayAvailable() ? "overlay" : "copy");
  EXPECT_EQ(readFile(r->rootfs() + "/etc/motd"), "from layer 2\n");
  ASSERT_TRUE(p.destroy("auto"));
  EXPECT_FALSE(fs::exists(r->rootfs()));

  ProvisionerEnv forced(std::map<std::string, std::string>{{"image_provisioner_backend", "copy"}});
  writeOciLayout(forced.env.root + "/oci", {{"v1", busyboxImage()}});
  auto f = forced.provision("forced", "oci:" + forced.env.root + "/oci:v1");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->backend(), "copy");
  ASSERT_TRUE(forced.destroy("forced"));
}

TEST(ROOT_ImageOverlay, ThreeLayerWhiteoutsGiveTheSameTreeAsCopy) {
  WARREN_REQUIRE_ROOT();
  if (!overlayAvailable()) GTEST_SKIP() << "skipped: overlayfs cannot be mounted here";
  ProvisionerEnv p;
  std::string layout = p.env.root + "/wh";
  writeOciLayout(layout, {{"v1", whiteoutImage()}});
  auto ov = p.provision("ov", "oci:" + layout + ":v1", "overlay");
  ASSERT_TRUE(ov) << ov.error().message();
  auto cp = p.provision("cp", "oci:" + layout + ":v1", "copy");
  ASSERT_TRUE(cp) << cp.error().message();
  expectWhiteoutTree(ov->rootfs());
  expectWhiteoutTree(cp->rootfs());
  std::string a = treeListing(ov->rootfs()), b = treeListing(cp->rootfs());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  // The overlay rootfs is writable and writes stay in the container's upper.
  ASSERT_TRUE(fs::writeFile(ov->rootfs() + "/a/new", "w"));
  for (const auto& l : p.storeEntries("layers")) {
    EXPECT_FALSE(fs::exists(p.store() + "/layers/" + l + "/rootfs/a/new"));
  }
  ASSERT_TRUE(p.destroy("ov"));
  ASSERT_TRUE(p.destroy("cp"));
  EXPECT_FALSE(fs::exists(ov->rootfs()));
  EXPECT_FALSE(fs::exists(cp->rootfs()));
  EXPECT_TRUE(p.storeEntries("containers").empty());
}

TEST(ROOT_ImageProvisioner, ArchivesGiveTheSameTreeAsTheLayout) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  Image img = whiteoutImage();
  std::string layout = p.env.root + "/layout";
  writeOciLayout(layout, {{"v1", img}});
  tarDirectory(layout, p.env.root + "/oci.tar");
  writeDockerArchive(p.env.root + "/docker.tar", img, "test/wh:v1");
  auto a = p.provision("lay", "oci:" + layout + ":v1", "copy");
  ASSERT_TRUE(a) << a.error().message();
  auto b = p.provision("ociar", "oci-archive:" + p.env.root + "/oci.tar:v1", "copy");
  ASSERT_TRUE(b) << b.error().message();
  auto c = p.provision("dockar", "docker-archive:" + p.env.root + "/docker.tar", "copy");
  ASSERT_TRUE(c) << c.error().message();
  auto d = p.provision("dockar2", "docker-archive:" + p.env.root + "/docker.tar:test/wh:v1", "copy");
  ASSERT_TRUE(d) << d.error().message();
  expectWhiteoutTree(c->rootfs());
  EXPECT_EQ(treeListing(a->rootfs()), treeListing(b->rootfs()));
  EXPECT_EQ(treeListing(a->rootfs()), treeListing(c->rootfs()));
  EXPECT_EQ(treeListing(a->rootfs()), treeListing(d->rootfs()));
  EXPECT_TRUE(p.storeEntries("tmp").empty()) << "archive scratch dirs are removed";
  auto bad = p.provision("x", "docker-archive:" + p.env.root + "/docker.tar:other:v2", "copy");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("image 'other:v2' not in the archive (has: test/wh:v1)"), std::string::npos)
      << bad.error().message();
  for (auto id : {"lay", "ociar", "dockar", "dockar2"}) ASSERT_TRUE(p.destroy(id));
}

TEST(ROOT_ImageProvisioner, MultiPlatformIndexPicksTheHostPlatform) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  Image foreign, native;
  foreign.architecture = hostArch() == "s390x" ? "riscv64" : "s390x";
  foreign.layers = {{makeTar({file("which", "foreign")}), Compression::Gzip}};
  native.layers = {{makeTar({file("which", "native")}), Compression::Gzip}};
  std::string layout = p.env.root + "/multi";
  writeMultiPlatformLayout(layout, "v1", {foreign, native});
  auto r = p.provision("m", "oci:" + layout + ":v1", "copy");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(readFile(r->rootfs() + "/which"), "native");
  ASSERT_TRUE(p.destroy("m"));

  std::string only = p.env.root + "/only-foreign";
  writeMultiPlatformLayout(only, "v1", {foreign});
  auto e = p.provision("f", "oci:" + only + ":v1", "copy");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("no manifest for linux/" + hostArch() + " in the index (available: linux/" +
                                     foreign.architecture + ")"),
            std::string::npos)
      << e.error().message();
}

TEST(ROOT_ImageProvisioner, BindIsReadOnlyAndSingleLayerOnly) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  Image one;
  one.layers = {busyboxLayer()};
  writeOciLayout(p.env.root + "/one", {{"v1", one}, {"two", busyboxImage()}});
  auto r = p.provision("b", "oci:" + p.env.root + "/one:v1", "bind");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(fs::exists(r->rootfs() + "/bin/busybox"));
  auto w = fs::writeFile(r->rootfs() + "/new", "x");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().err(), EROFS);
  ASSERT_TRUE(p.destroy("b"));
  EXPECT_FALSE(fs::exists(r->rootfs()));

  auto two = p.provision("b2", "oci:" + p.env.root + "/one:two", "bind");
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().message().find("bind backend needs a single-layer image"), std::string::npos)
      << two.error().message();
  EXPECT_FALSE(fs::exists(p.env.root + "/rootfs-b2"));
  EXPECT_TRUE(p.storeEntries("containers").empty());
}

TEST(ROOT_ImageProvisioner, PruneRemovesExactlyTheUnusedLayers) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  Layer l1{makeTar({file("shared", "1")}), Compression::Gzip};
  Layer l2{makeTar({file("only-a", "2")}), Compression::Gzip};
  Layer l3{makeTar({file("only-b", "3")}), Compression::Gzip};
  Image a, b;
  a.layers = {l1, l2};
  b.layers = {l1, l3};
  std::string layout = p.env.root + "/prune";
  auto manifests = writeOciLayout(layout, {{"a", a}, {"b", b}});
  auto layersOf = [&](const std::string& digest) {
    auto m = nlohmann::json::parse(readFile(blobPath(layout, digest)));
    std::vector<std::string> out;
    for (auto& l : m["layers"]) out.push_back(l["digest"].get<std::string>().substr(7));
    return out;
  };
  auto la = layersOf(manifests[0]), lb = layersOf(manifests[1]);
  ASSERT_EQ(la[0], lb[0]);
  ASSERT_TRUE(p.provision("user", "oci:" + layout + ":a", "copy"));
  auto pulled = p.pull("oci:" + layout + ":b");
  ASSERT_TRUE(pulled) << pulled.error().message();
  EXPECT_EQ(pulled->layers(), 2);
  EXPECT_EQ(pulled->digest(), manifests[1]);
  auto list = p.images();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->images_size(), 2);
  EXPECT_EQ(p.storeEntries("layers").size(), 3u);

  auto pr = p.prune();
  ASSERT_TRUE(pr) << pr.error().message();
  std::vector<std::string> removed(pr->removed().begin(), pr->removed().end());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"image oci:" + layout + ":b", "layer sha256:" + lb[1]}));
  EXPECT_GT(pr->freed_bytes(), 0u);
  auto left = p.storeEntries("layers");
  std::sort(la.begin(), la.end());
  EXPECT_EQ(left, la);
  ASSERT_TRUE(p.images());
  EXPECT_EQ(p.images()->images_size(), 1);

  ASSERT_TRUE(p.destroy("user"));
  auto pr2 = p.prune();
  ASSERT_TRUE(pr2);
  EXPECT_EQ(pr2->removed_size(), 3);
  EXPECT_TRUE(p.storeEntries("layers").empty());
  EXPECT_EQ(p.images()->images_size(), 0);
}

TEST(ROOT_ImageProvisioner, ConcurrentProvisionsUnpackEachLayerOnce) {
  WARREN_REQUIRE_ROOT();
  // Two plugin instances (two hosts, as two warren processes would be) on
  // one store, each provisioning two containers at once.
  ProvisionerEnv p1;
  std::string layout = p1.env.root + "/conc";
  writeOciLayout(layout, {{"v1", busyboxImage()}});
  ProvisionerEnv p2;
  std::filesystem::remove_all(p2.store());
  std::filesystem::create_directory_symlink(p1.store(), p2.store());
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      auto& p = i % 2 ? p1 : p2;
      auto r = p.provision("c" + std::to_string(i), "oci:" + layout + ":v1", "copy",
                           p1.env.root + "/rootfs-c" + std::to_string(i));
      if (r) ++ok;
      else ADD_FAILURE() << r.error().message();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 4);
  std::string logs = p1.logs() + p2.logs();
  size_t pulls = 0;
  for (size_t pos = 0; (pos = logs.find(": pulling layer", pos)) != std::string::npos; ++pos) ++pulls;
  EXPECT_EQ(pulls, 2u) << logs;
  EXPECT_EQ(p1.storeEntries("layers").size(), 2u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p1.destroy("c" + std::to_string(i)));
  std::filesystem::remove(p2.store());
}

TEST(ROOT_ImageProvisioner, RecoverRemovesRootfsOfUnknownContainers) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  writeOciLayout(p.env.root + "/oci", {{"v1", busyboxImage()}});
  auto keep = p.provision("keep", "oci:" + p.env.root + "/oci:v1");
  auto orphan = p.provision("orphan", "oci:" + p.env.root + "/oci:v1");
  ASSERT_TRUE(keep && orphan);
  v1::RecoverRequest req;
  *req.add_containers()->mutable_id() = *warren::parseId("keep");
  ASSERT_TRUE(p.plugin().call<v1::Empty>(v1::RECOVER, req));
  EXPECT_TRUE(fs::exists(keep->rootfs() + "/bin/busybox"));
  EXPECT_FALSE(fs::exists(orphan->rootfs()));
  EXPECT_EQ(p.storeEntries("containers"), (std::vector<std::string>{"keep", "keep.json"}));
  ASSERT_TRUE(p.destroy("keep"));
}

}  // namespace
}  // namespace warren::testing
