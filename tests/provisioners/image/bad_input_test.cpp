// Bad input: unknown schemes, missing layouts and tags, corrupted and
// truncated blobs, unsupported media types, malicious layer tars. Each is a
// clear error and leaves nothing behind - in the store or outside it.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using namespace images;

#define EXPECT_ERROR_HAS(result, text)                                                   \
  do {                                                                                   \
    ASSERT_FALSE(result) << "expected an error containing: " << (text);                 \
    EXPECT_NE((result).error().message().find(text), std::string::npos)                \
        << "error: " << (result).error().message() << "\nexpected to contain: " << (text); \
  } while (0)

// Nothing half-made: no layer, no scratch, no container record or rootfs.
void expectNothingLeft(ProvisionerEnv& p, const std::string& id) {
  EXPECT_TRUE(p.storeEntries("layers").empty());
  EXPECT_TRUE(p.storeEntries("tmp").empty());
  EXPECT_TRUE(p.storeEntries("containers").empty());
  EXPECT_FALSE(fs::exists(p.env.root + "/rootfs-" + id));
}

std::string oneLayerLayout(ProvisionerEnv& p, const std::string& tar, const std::string& name = "img") {
  Image img;
  img.layers = {{tar, Compression::None}};
  std::string dir = p.env.root + "/" + name;
  writeOciLayout(dir, {{"v1", img}});
  return dir;
}

TEST(ImageBadInput, UnknownSchemeIsNamed) {
  ProvisionerEnv p;
  auto r = p.provision("c", "ftp://example/x", "copy");
  EXPECT_ERROR_HAS(r, "unknown image reference scheme in 'ftp://example/x' (supported: oci, oci-archive, "
                      "docker-archive, docker)");
  auto pulled = p.pull("nothing-here");
  EXPECT_ERROR_HAS(pulled, "unknown image reference scheme in 'nothing-here'");
  auto rel = p.provision("c", "oci:relative/path", "copy");
  EXPECT_ERROR_HAS(rel, "the path must be absolute");
  auto backend = p.provision("c", "oci:/x", "zfs");
  EXPECT_ERROR_HAS(backend, "unknown rootfs backend 'zfs'");
}

TEST(ImageBadInput, InvalidBackendFlagFailsPluginCreation) {
  TestEnv env;
  plugins::HostOptions opts;
  opts.work_dir = env.work_dir;
  opts.flags = {{"image_provisioner_backend", "btrfs"}};
  auto host = plugins::PluginHost::create(opts, nullptr);
  ASSERT_TRUE(host->loadFile(env.plugin_dir + "/provisioner_image.so"));
  auto p = host->instance(plugins::Kind::Provisioner, "image");
  EXPECT_ERROR_HAS(p, "invalid --image_provisioner_backend 'btrfs' (expected overlay, copy, bind or auto)");
}

TEST(ROOT_ImageBadInput, MissingLayoutAndTag) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  auto missing = p.provision("c", "oci:" + p.env.root + "/nope:v1", "copy");
  EXPECT_ERROR_HAS(missing, "OCI layout directory '" + p.env.root + "/nope' does not exist");
  auto noArchive = p.provision("c", "docker-archive:" + p.env.root + "/nope.tar", "copy");
  EXPECT_ERROR_HAS(noArchive, "archive '" + p.env.root + "/nope.tar' does not exist");
  std::string dir = oneLayerLayout(p, makeTar({file("x", "x")}));
  auto tag = p.provision("c", "oci:" + dir + ":v2", "copy");
  EXPECT_ERROR_HAS(tag, "tag 'v2' not found in the layout (tags: v1)");
  expectNothingLeft(p, "c");
}

TEST(ROOT_ImageBadInput, CorruptedAndTruncatedBlobsAreRefused) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string tar = makeTar({file("data", std::string(100000, 'd'))});
  std::string dir = oneLayerLayout(p, tar);
  std::string blob = blobPath(dir, sha256(tar));
  ASSERT_TRUE(fs::exists(blob));
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('X');
  }
  auto corrupt = p.provision("c", "oci:" + dir + ":v1", "copy");
  EXPECT_ERROR_HAS(corrupt, "digest mismatch for image 'oci:" + dir + ":v1': layer: expected " + sha256(tar));
  expectNothingLeft(p, "c");
  ASSERT_EQ(truncate(blob.c_str(), 3000), 0);
  auto truncated = p.provision("c", "oci:" + dir + ":v1", "copy");
  EXPECT_ERROR_HAS(truncated, "(corrupted or truncated blob)");
  expectNothingLeft(p, "c");
  // A corrupted manifest is caught too (before its layers are looked at).
  std::string dir2 = oneLayerLayout(p, tar, "img2");
  auto idx = fs::readFile(dir2 + "/index.json");
  ASSERT_TRUE(idx);
  auto at = idx->find("sha256:");
  std::string mdigest = idx->substr(at, 71);
  ASSERT_TRUE(fs::writeFile(blobPath(dir2, mdigest), "{\"schemaVersion\": 2}"));
  auto badManifest = p.provision("c", "oci:" + dir2 + ":v1", "copy");
  EXPECT_ERROR_HAS(badManifest, "digest mismatch for image 'oci:" + dir2 + ":v1': blob: expected " + mdigest);
  expectNothingLeft(p, "c");
}

TEST(ROOT_ImageBadInput, UnsupportedManifestMediaTypeIsNamed) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string dir = oneLayerLayout(p, makeTar({file("x", "x")}));
  setManifestMediaType(dir, "application/vnd.docker.distribution.manifest.v1+prettyjws");
  auto r = p.provision("c", "oci:" + dir + ":v1", "copy");
  EXPECT_ERROR_HAS(r, "unsupported manifest media type 'application/vnd.docker.distribution.manifest.v1+prettyjws'");
  expectNothingLeft(p, "c");
}

struct Malicious {
  std::string name;
  std::vector<Entry> entries;  // "@OUT@" in a path or target = the outside dir
  std::string error;
};

std::string subst(std::string s, const std::string& out) {
  auto at = s.find("@OUT@");
  if (at != std::string::npos) s.replace(at, 5, out);
  return s;
}

TEST(ROOT_ImageBadInput, MaliciousTarsAreRefusedAndNothingEscapes) {
  WARREN_REQUIRE_ROOT();
  std::vector<Malicious> cases = {
      {"dotdot", {file("ok", "fine"), file("../../../../outside/evil", "x")},
       "entry '../../../../outside/evil': path contains '..'"},
      {"dotdot-inner", {dir("a"), file("a/../../outside/evil", "x")}, "entry 'a/../../outside/evil': path contains '..'"},
      {"absolute", {file("@OUT@/evil", "x")}, "entry '@OUT@/evil': absolute path"},
      {"symlink-dir-then-write", {symlink("link", "@OUT@"), file("link/evil", "x")},
       "entry 'link/evil': would be written through symlink 'link'"},
      {"symlink-relative-then-write", {symlink("up", "../../../../outside"), file("up/evil", "x")},
       "entry 'up/evil': would be written through symlink 'up'"},
      {"symlink-file-then-overwrite", {symlink("victim", "@OUT@/victim"), file("victim", "pwned")},
       "entry 'victim': would be written through symlink 'victim'"},
      {"symlink-then-dir", {symlink("d", "@OUT@"), dir("d", 0777)}, "entry 'd/': would be written through symlink 'd'"},
      {"symlink-then-whiteout", {symlink("d", "@OUT@"), file("d/.wh.victim", "")},
       "entry 'd/.wh.victim': would be written through symlink 'd'"},
      {"hardlink-dotdot", {file("ok", "x"), hardlink("hl", "../../../../outside/victim")},
       "entry 'hl': hardlink target '../../../../outside/victim' is outside the archive"},
      {"hardlink-absolute", {hardlink("hl", "@OUT@/victim")}, "entry 'hl': hardlink target '@OUT@/victim' is outside"},
      {"hardlink-through-symlink", {symlink("s", "@OUT@"), hardlink("hl", "s/victim")},
       "entry 'hl': would be written through symlink 's'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ProvisionerEnv p;
    std::string out = p.env.root + "/outside";
    ASSERT_TRUE(fs::mkdirs(out));
    ASSERT_TRUE(fs::writeFile(out + "/victim", "original"));
    chmod(out.c_str(), 0700);
    std::vector<Entry> entries = c.entries;
    for (auto& e : entries) {
      e.path = subst(e.path, out);
      e.data = subst(e.data, out);
    }
    // The layer sits 4 levels below env.root inside the store's tmp dir,
    // so "../../../../outside" would reach `out` if followed.
    std::string dir = oneLayerLayout(p, makeTar(entries));
    auto r = p.provision("c", "oci:" + dir + ":v1", "copy");
    std::string want = subst(c.error, out);
    EXPECT_ERROR_HAS(r, want);
    expectNothingLeft(p, "c");
    auto victim = fs::readFile(out + "/victim");
    ASSERT_TRUE(victim);
    EXPECT_EQ(*victim, "original");
    struct stat st {};
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(out)) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"victim"});
    EXPECT_FALSE(fs::exists(p.env.root + "/evil"));
    EXPECT_FALSE(fs::exists(p.store() + "/evil"));
  }
}

TEST(ROOT_ImageBadInput, MaliciousOuterArchivesAreRefused) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string out = p.env.root + "/outside";
  ASSERT_TRUE(fs::mkdirs(out));
  std::string tarPath = p.env.root + "/evil.tar";
  ASSERT_TRUE(fs::writeFile(tarPath, makeTar({file("manifest.json", "[]"), file("../../../../../outside/x", "x")})));
  auto r = p.provision("c", "docker-archive:" + tarPath, "copy");
  EXPECT_ERROR_HAS(r, "entry '../../../../../outside/x': path contains '..'");
  EXPECT_TRUE(std::filesystem::is_empty(out));
  ASSERT_TRUE(fs::writeFile(tarPath, makeTar({file("manifest.json",
                                                    R"([{"Config":"../../etc/passwd","Layers":[]}])")})));
  auto cfg = p.provision("c", "docker-archive:" + tarPath, "copy");
  EXPECT_ERROR_HAS(cfg, "manifest.json names '../../etc/passwd' outside the archive");
  expectNothingLeft(p, "c");
}

}  // namespace
}  // namespace warren::testing
