// Loading: every broken fixture file fails with its exact one-line error, and
// a broken file in a plugin dir never stops the good ones from loading.
#include <filesystem>

#include <gtest/gtest.h>

#include "fixture_paths.hpp"
#include "host/plugin_host.hpp"
#include "test_env.hpp"

namespace warren::plugins {
namespace {

using testing::fixture;
using testing::fixtureDir;

std::unique_ptr<PluginHost> makeHost(std::vector<std::string> dirs = {}) {
  HostOptions opts;
  opts.plugin_dirs = std::move(dirs);
  return PluginHost::create(opts, nullptr);
}

std::string loadError(PluginHost& host, const std::string& path) {
  auto r = host.loadFile(path);
  if (r) return "loaded unexpectedly";
  return r.error().message();
}

TEST(PluginLoad, GoodPluginDescriptor) {
  auto host = makeHost();
  auto d = host->loadFile(fixture("good"));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ((*d)->path, fixture("good"));
  EXPECT_EQ((*d)->name, "org.warren.test.good");
  EXPECT_EQ((*d)->short_name, "good");
  EXPECT_EQ((*d)->version, "0.0.1");
  EXPECT_EQ((*d)->kind, Kind::Isolator);
  EXPECT_EQ((*d)->abi_major, WARREN_ABI_MAJOR);
  EXPECT_EQ((*d)->abi_minor, WARREN_ABI_MINOR);
  // Loading the same file again gives the same descriptor, not a duplicate.
  auto again = host->loadFile(fixture("good"));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *d);
}

TEST(PluginLoad, TextFileIsNotASharedLibrary) {
  auto host = makeHost();
  EXPECT_EQ(loadError(*host, fixture("bad")),
            "plugin '" + fixture("bad") + "': not a loadable shared library: invalid ELF header");
}

TEST(PluginLoad, MissingFileIsNotASharedLibrary) {
  auto host = makeHost();
  std::string p = fixtureDir() + "/does_not_exist.so";
  EXPECT_EQ(loadError(*host, p), "plugin '" + p +
                                     "': not a loadable shared library: cannot open shared "
                                     "object file: No such file or directory");
}

TEST(PluginLoad, LibraryWithoutDescriptor) {
  auto host = makeHost();
  EXPECT_EQ(loadError(*host, fixture("no_descriptor")),
            "plugin '" + fixture("no_descriptor") +
                "': no 'warren_plugin' descriptor (not a warren plugin)");
}

TEST(PluginLoad, AbiMajorMismatch) {
  auto host = makeHost();
  EXPECT_EQ(loadError(*host, fixture("abi_major")),
            "plugin '" + fixture("abi_major") + "': ABI major 2 does not match the host's 1");
}

TEST(PluginLoad, AbiMinorNewerThanHost) {
  auto host = makeHost();
  EXPECT_EQ(loadError(*host, fixture("abi_minor")),
            "plugin '" + fixture("abi_minor") + "': ABI minor 3 is newer than the host's 1.2");
}

TEST(PluginLoad, DuplicateNameAndShortName) {
  auto host = makeHost();
  ASSERT_TRUE(host->loadFile(fixture("dup_a")));
  EXPECT_EQ(loadError(*host, fixture("dup_b")),
            "plugin '" + fixture("dup_b") +
                "': duplicate plugin name 'org.warren.test.dup' (already loaded from '" +
                fixture("dup_a") + "')");
  EXPECT_EQ(loadError(*host, fixture("dup_c")),
            "plugin '" + fixture("dup_c") + "': duplicate plugin name 'dup' (already loaded from '" +
                fixture("dup_a") + "')");
  // The first one stays usable.
  auto p = host->instance(Kind::Isolator, "dup");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ((*p)->descriptor().path, fixture("dup_a"));
}

// protobuf cannot register one proto file twice, and throwing from inside
// dlopen would leave the dynamic loader locked: such files are refused
// before they are opened.
TEST(PluginLoad, SecondCopyOfAPluginProtoIsRefusedBeforeLoading) {
  auto host = makeHost();
  ASSERT_TRUE(host->loadFile(fixture("proto_a")));
  EXPECT_EQ(loadError(*host, fixture("proto_b")),
            "plugin '" + fixture("proto_b") +
                "': defines proto file 'org/warren/test/fixture_config.proto', which is already "
                "loaded (the same plugin installed twice, or SDK protos compiled into the plugin)");
  // A later host in the same process may load proto_a again (already mapped).
  auto other = makeHost();
  EXPECT_TRUE(other->loadFile(fixture("proto_a")));
  EXPECT_TRUE(other->loadFile(fixture("good"))) << "the loader still works";
}

TEST(PluginLoad, SdkProtosCompiledIntoAPluginAreRefused) {
  auto host = makeHost();
  EXPECT_EQ(loadError(*host, fixture("sdk_protos")),
            "plugin '" + fixture("sdk_protos") +
                "': defines proto file 'warren/v1/container.proto', which is already "
                "loaded (the same plugin installed twice, or SDK protos compiled into the plugin)");
}

TEST(PluginScan, BrokenFilesDoNotStopGoodOnes) {
  auto host = makeHost({fixtureDir()});
  host->scan();
  std::vector<std::string> errors;
  for (const auto& e : host->errors()) errors.push_back(e.message());
  // Sorted by file name; each names its file.
  ASSERT_EQ(errors.size(), 8u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0].rfind("plugin '" + fixture("abi_major") + "': ABI major 2", 0), 0u);
  EXPECT_EQ(errors[1].rfind("plugin '" + fixture("abi_minor") + "': ABI minor 3", 0), 0u);
  EXPECT_EQ(errors[2].rfind("plugin '" + fixture("bad") + "': not a loadable", 0), 0u);
  EXPECT_EQ(errors[3].rfind("plugin '" + fixture("dup_b") + "': duplicate", 0), 0u);
  EXPECT_EQ(errors[4].rfind("plugin '" + fixture("dup_c") + "': duplicate", 0), 0u);
  EXPECT_EQ(errors[5].rfind("plugin '" + fixture("no_descriptor") + "': no 'warren_plugin'", 0), 0u);
  EXPECT_EQ(errors[6].rfind("plugin '" + fixture("proto_b") + "': defines proto file", 0), 0u);
  EXPECT_EQ(errors[7].rfind("plugin '" + fixture("sdk_protos") + "': defines proto file", 0), 0u);
  for (const auto& e : errors) EXPECT_EQ(e.find('\n'), std::string::npos) << e;

  std::vector<std::string> names;
  for (const auto* d : host->available(Kind::Isolator)) names.push_back(d->short_name);
  EXPECT_EQ(names, (std::vector<std::string>{"abi-10", "create-fails", "cycle/x", "cycle/y", "dep/a",
                                             "dep/b", "dep/c", "described", "described-create-fails",
                                             "dup", "good", "prepare-fails", "proto-a", "slow",
                                             "slow-create", "throws"}));
  EXPECT_TRUE(host->available(Kind::Provisioner).empty());
  auto good = host->instance(Kind::Isolator, "good");
  ASSERT_TRUE(good) << good.error().message();
  auto resp = (*good)->call<v1::PrepareResponse>(v1::PREPARE, testing::prepareRequest("c1"));
  ASSERT_TRUE(resp) << resp.error().message();

  // A second scan reports the same errors once, not twice.
  host->scan();
  EXPECT_EQ(host->errors().size(), 8u);
}

TEST(PluginScan, OnlyRegularSoFilesNonRecursive) {
  warren::testing::TestEnv env;
  namespace fs = std::filesystem;
  std::string dir = env.root + "/plugins";
  fs::create_directories(dir + "/sub");
  fs::create_directories(dir + "/dir.so");
  fs::copy_file(fixture("good"), dir + "/sub/good.so");
  fs::copy_file(fixture("good"), dir + "/good.so.1");
  fs::copy_file(fixture("good"), dir + "/z_good.so");
  auto host = makeHost({dir});
  host->scan();
  EXPECT_TRUE(host->errors().empty()) << host->errors()[0].message();
  auto found = host->available(Kind::Isolator);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]->path, dir + "/z_good.so");
}

TEST(PluginScan, MissingPluginDirIsAnError) {
  auto host = makeHost({"/nonexistent/warren-plugins"});
  host->scan();
  ASSERT_EQ(host->errors().size(), 1u);
  EXPECT_EQ(host->errors()[0].message(),
            "plugin dir '/nonexistent/warren-plugins': No such file or directory");
}

TEST(PluginScan, UnknownIsolatorListsAvailable) {
  auto host = makeHost({fixtureDir()});
  host->scan();
  auto r = host->instance(Kind::Isolator, "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "unknown isolator 'nope' (available: abi-10, create-fails, cycle/x, cycle/y, dep/a, "
            "dep/b, dep/c, described, described-create-fails, dup, good, prepare-fails, proto-a, "
            "slow, slow-create, throws)");
  auto prov = host->instance(Kind::Provisioner, "good");
  ASSERT_FALSE(prov);
  EXPECT_EQ(prov.error().message(), "unknown provisioner 'good' (available: none)");
  auto sel = host->isolators({"good", "nope"});
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error().message().rfind("unknown isolator 'nope' (available: ", 0), 0u);
}

}  // namespace
}  // namespace warren::plugins
