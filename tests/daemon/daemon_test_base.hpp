// A test with its own warrend over a TestEnv; everything removed at the end.
#pragma once

#include <dirent.h>

#include <memory>

#include "daemon_fixture.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {

class DaemonTest : public ::testing::Test {
 protected:
  virtual std::vector<std::string> isolation() const { return {"filesystem/linux", "pid", "volumes"}; }
  virtual std::vector<std::string> flags() const { return {}; }
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    rootfs_ = TestEnv::busyboxRootfs();
    d_ = std::make_unique<Warrend>(env_, isolation(), flags());
    d_->start();
  }
  void TearDown() override {
    if (!d_) return;
    if (d_->pid() <= 0) d_->start();
    d_->removeAll();
    d_->stop();
    EXPECT_TRUE(listDir(env_.runtime_dir + "/containers").empty());
    if (HasFailure()) {
      std::string log = d_->log();  // the end: where a failure late in a test shows
      std::cerr << "---- warrend log (last 20000 bytes) ----\n" << log.substr(log.size() > 20000 ? log.size() - 20000 : 0);
    }
  }
  static std::vector<std::string> listDir(const std::string& p) {
    std::vector<std::string> out;
    if (DIR* d = opendir(p.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      closedir(d);
    }
    return out;
  }
  // The container's entry in GET_CONTAINERS (null when absent).
  Json entry(const std::string& dotted) {
    auto r = d_->call(getContainers());
    if (r.status != 200) return {};
    for (const auto& c : r.json["get_containers"].value("containers", Json::array())) {
      std::string id = c["container_id"]["value"];
      for (Json p = c["container_id"]; p.contains("parent"); p = p["parent"]) {
        id = std::string(p["parent"]["value"]) + "." + id;
      }
      if (id == dotted) return c;
    }
    return {};
  }
  // Launch a nested container through the API (seeing the parent's root).
  Reply launchNested(const std::string& id, const std::string& script) {
    return d_->call(launchCall(id, script, ""));
  }
  TestEnv env_;
  std::string rootfs_;
  std::unique_ptr<Warrend> d_;
};

}  // namespace warren::testing
