// Image resource limits: a zip bomb (a layer whose tar expands far beyond the
// limit, made in milliseconds from concatenated gzip members of zeros), a
// 300 MB image config, oversized manifests, lying descriptors and file-count
// bombs are refused with one line, before the data is written or read, and
// leave nothing behind. Sparse files stay sparse through extraction and the
// copy backend.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using nlohmann::json;
constexpr uint64_t kMiB = 1ULL << 20, kGiB = 1ULL << 30;

// One complete gzip member holding `data`.
std::string gzipMember(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A ustar header for a regular file; sizes of 8 GiB and more in GNU base-256.
std::string tarHeader(const std::string& name, uint64_t size) {
  std::string h(512, '\0');
  auto put = [&](size_t off, size_t len, const std::string& v) { h.replace(off, v.size(), v); (void)len; };
  put(0, 100, name);
  put(100, 8, "0000644");
  put(108, 8, "0000000");
  put(116, 8, "0000000");
  if (size < (1ULL << 33)) {
    char buf[13];
    std::snprintf(buf, sizeof buf, "%011llo", static_cast<unsigned long long>(size));
    put(124, 12, buf);
  } else {
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  put(136, 12, "00000000000");
  h[156] = '0';
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  std::string blank = h;
  blank.replace(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : blank) sum += c;
  char ck[8];
  std::snprintf(ck, sizeof ck, "%06o", sum);
  h.replace(148, 8, std::string(ck, 6) + std::string("\0 ", 2));
  return h;
}

// A gzip'd tar of files holding only zeros: each MiB of zeros is the same
// ~1 KiB gzip member, so a 10 GiB layer is ~10 MB and made in milliseconds.
std::string zeroTarGz(const std::vector<std::pair<std::string, uint64_t>>& files) {
  static const std::string mib = gzipMember(std::string(kMiB, '\0'));
  std::string out;
  for (const auto& [name, size] : files) {
    out += gzipMember(tarHeader(name, size));
    uint64_t padded = (size + 511) / 512 * 512;
    for (uint64_t i = 0; i < padded / kMiB; ++i) out += mib;
    if (padded % kMiB) out += gzipMember(std::string(padded % kMiB, '\0'));
  }
  out += gzipMember(std::string(1024, '\0'));
  return out;
}

std::string writeBlob(const std::string& dir, const std::string& data) {
  std::string d = images::sha256(data);
  std::filesystem::create_directories(dir + "/blobs/sha256");
  std::ofstream(dir + "/blobs/sha256/" + d.substr(7), std::ios::binary) << data;
  return d;
}

struct Desc {
  std::string digest;
  int64_t size;
};

// An OCI layout whose manifest names `config` and one gzip layer `layer`.
std::string layout(const std::string& dir, const Desc& config, const std::string& layer_gz) {
  std::string ld = writeBlob(dir, layer_gz);
  json m{{"schemaVersion", 2},
         {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config.digest},
                     {"size", config.size}}},
         {"layers", json::array({{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                  {"digest", ld}, {"size", layer_gz.size()}}})}};
  std::string mb = m.dump();
  json idx{{"schemaVersion", 2},
           {"manifests", json::array({{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                       {"digest", writeBlob(dir, mb)}, {"size", mb.size()},
                                       {"annotations", {{"org.opencontainers.image.ref.name", "v1"}}}}})}};
  std::ofstream(dir + "/index.json") << idx.dump();
  std::ofstream(dir + "/oci-layout") << R"({"imageLayoutVersion": "1.0.0"})";
  return "oci:" + dir + ":v1";
}

Desc goodConfig(const std::string& dir) {
  std::string c = R"({"architecture":")" + images::hostArch() +
                  R"(","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}})";
  return {writeBlob(dir, c), static_cast<int64_t>(c.size())};
}

void expectNothingLeft(ProvisionerEnv& p) {
  EXPECT_TRUE(p.storeEntries("layers").empty());
  EXPECT_TRUE(p.storeEntries("tmp").empty());
  EXPECT_TRUE(p.storeEntries("containers").empty());
  EXPECT_TRUE(p.storeEntries("images").empty());
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(ROOT_ImageLimits, TenGiBZipBombRefusedByTheDefaultLimit) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string dir = p.env.root + "/bomb";
  std::string gz = zeroTarGz({{"bomb", 10 * kGiB}});
  std::printf("bomb: %zu compressed bytes for a 10 GiB file\n", gz.size());
  std::string ref = layout(dir, goodConfig(dir), gz);
  auto t0 = std::chrono::steady_clock::now();
  auto r = p.provision("c", ref, "copy");
  std::printf("refused in %.3f s\n", secondsSince(t0));
  ASSERT_FALSE(r);
  const std::string msg = r.error().message();
  EXPECT_NE(msg.find("entry 'bomb' (10737418240 bytes) unpacks beyond the limit of 8589934592 bytes "
                     "(--image_max_unpacked_bytes / --image_max_files)"),
            std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  expectNothingLeft(p);
}

TEST(ROOT_ImageLimits, ManySmallEntriesCrossASmallLimitAndAFileCount) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p(std::map<std::string, std::string>{{"image_max_unpacked_bytes", "64M"}, {"image_max_files", "500"}});
  std::vector<std::pair<std::string, uint64_t>> files;
  for (int i = 0; i < 40; ++i) files.push_back({"f" + std::to_string(i), 16 * kMiB});  // 640 MiB
  std::string dir = p.env.root + "/many";
  auto r = p.provision("c", layout(dir, goodConfig(dir), zeroTarGz(files)), "copy");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("entry 'f4' (16777216 bytes) unpacks beyond the limit of 67108864 bytes"),
            std::string::npos) << r.error().message();
  expectNothingLeft(p);

  std::vector<std::pair<std::string, uint64_t>> empties;
  for (int i = 0; i < 600; ++i) empties.push_back({"e" + std::to_string(i), 0});
  std::string dir2 = p.env.root + "/files";
  auto r2 = p.provision("c", layout(dir2, goodConfig(dir2), zeroTarGz(empties)), "copy");
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find(": more than 500 files (--image_max_unpacked_bytes / --image_max_files)"),
            std::string::npos) << r2.error().message();
  expectNothingLeft(p);
}

TEST(ROOT_ImageLimits, A300MBConfigIsNeverRead) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string dir = p.env.root + "/bigcfg";
  std::filesystem::create_directories(dir + "/blobs/sha256");
  // A sparse 300 MB file: nothing reads it, so its digest is never checked.
  const std::string hex(64, 'a');
  const int64_t size = 300 * 1000 * 1000;
  int fd = ::open((dir + "/blobs/sha256/" + hex).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, size), 0);
  ::close(fd);
  std::string layer = zeroTarGz({{"x", 10}});
  auto honest = p.provision("c", layout(dir, {"sha256:" + hex, size}, layer), "copy");
  ASSERT_FALSE(honest);
  EXPECT_NE(honest.error().message().find(": config sha256:" + hex + " is 300000000 bytes, above the limit of "
                                          "8388608 (--image_max_config_bytes)"),
            std::string::npos) << honest.error().message();
  expectNothingLeft(p);
  // A descriptor that lies about the size is caught before the read too.
  auto liar = p.provision("c", layout(dir, {"sha256:" + hex, 1000}, layer), "copy");
  ASSERT_FALSE(liar);
  EXPECT_NE(liar.error().message().find("blob sha256:" + hex + " is 300000000 bytes, above the limit of 8388608"),
            std::string::npos) << liar.error().message();
  expectNothingLeft(p);
}

TEST(ROOT_ImageLimits, DescriptorSizeMustMatchWhatIsRead) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string dir = p.env.root + "/lie";
  Desc c = goodConfig(dir);
  c.size += 5;
  auto r = p.provision("c", layout(dir, c, zeroTarGz({{"x", 10}})), "copy");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("but its descriptor says " + std::to_string(c.size)), std::string::npos)
      << r.error().message();
  expectNothingLeft(p);
}

TEST(ROOT_ImageLimits, OversizedManifestIsRefused) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p(std::map<std::string, std::string>{{"image_max_manifest_bytes", "1K"}});
  std::string dir = p.env.root + "/bigman";
  Desc c = goodConfig(dir);
  // Padding the manifest past 1 KiB with an annotation.
  std::string ref = layout(dir, c, zeroTarGz({{"x", 10}}));
  json idx = json::parse(*fs::readFile(dir + "/index.json"));
  std::string old = idx["manifests"][0]["digest"];
  json m = json::parse(*fs::readFile(dir + "/blobs/sha256/" + old.substr(7)));
  m["annotations"] = {{"pad", std::string(2000, 'p')}};
  std::string mb = m.dump();
  idx["manifests"][0]["digest"] = writeBlob(dir, mb);
  idx["manifests"][0]["size"] = mb.size();
  std::ofstream(dir + "/index.json") << idx.dump();
  auto r = p.provision("c", ref, "copy");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("bytes, above the limit of 1024 (--image_max_manifest_bytes)"),
            std::string::npos) << r.error().message();
}

TEST(ImageLimits, InvalidLimitFlagFailsPluginCreation) {
  TestEnv env;
  plugins::HostOptions opts;
  opts.work_dir = env.work_dir;
  opts.runtime_dir = env.runtime_dir;
  opts.flags = {{"image_max_files", "lots"}};
  auto host = plugins::PluginHost::create(opts, nullptr);
  ASSERT_TRUE(host->loadFile(env.plugin_dir + "/provisioner_image.so"));
  auto p = host->instance(plugins::Kind::Provisioner, "image");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find(
                "invalid --image_max_files 'lots': expected a positive number, optionally with K, M, G or T"),
            std::string::npos) << p.error().message();
}

TEST(ROOT_ImageLimits, SparseFilesStaySparseThroughTheCopyBackend) {
  WARREN_REQUIRE_ROOT();
  ProvisionerEnv p;
  std::string dir = p.env.root + "/sparse";
  auto r = p.provision("c", layout(dir, goodConfig(dir), zeroTarGz({{"holes", 256 * kMiB}})), "copy");
  ASSERT_TRUE(r) << r.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((r->rootfs() + "/holes").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 256 * kMiB);
  std::printf("256 MiB of zeros: %lld bytes allocated in the rootfs\n", static_cast<long long>(st.st_blocks) * 512);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1 * kMiB);
  ASSERT_TRUE(p.destroy("c"));
}

}  // namespace
}  // namespace warren::testing
