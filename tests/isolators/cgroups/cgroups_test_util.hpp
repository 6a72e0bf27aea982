// Helpers for the cgroups isolator tests: the plugin loaded through the real
// plugin host, request builders, and a forked process that stands in for
// warren-init (blocked on a pipe until released, then execs busybox).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "host/plugin_host.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing::cg {

struct Loaded {
  std::unique_ptr<plugins::PluginHost> host;
  plugins::Plugin* plugin = nullptr;
};

inline Result<Loaded> loadCgroups(const TestEnv& env, std::map<std::string, std::string> flags = {},
                                  const std::string& config_json = "",
                                  const std::string& cgroups_root = "") {
  plugins::HostOptions o;
  o.plugin_dirs = {env.plugin_dir};
  o.work_dir = env.work_dir;
  o.runtime_dir = env.runtime_dir;
  o.cgroups_root = cgroups_root.empty() ? env.cgroups_root : cgroups_root;
  o.flags = std::move(flags);
  if (!config_json.empty()) o.configs["cgroups"] = config_json;
  Loaded l;
  l.host = plugins::PluginHost::create(o, nullptr);
  auto d = l.host->loadFile(env.plugin_dir + "/isolator_cgroups.so");
  if (!d) return fail(d.error());
  auto p = l.host->instance(plugins::Kind::Isolator, "cgroups");
  if (!p) return fail(p.error());
  l.plugin = *p;
  return l;
}

struct Spec {
  std::string id;
  double cpus = 0;
  uint64_t mem = 0;
  uint64_t pids = 0;
  bool debug = false;
  std::map<std::string, std::string> settings = {};
};

inline v1::ContainerConfig configOf(const Spec& s) {
  v1::ContainerConfig c;
  c.mutable_command()->set_value("/bin/true");
  c.mutable_resources()->set_cpus(s.cpus);
  c.mutable_resources()->set_mem_bytes(s.mem);
  c.mutable_resources()->set_pids(s.pids);
  if (s.debug) c.set_container_class(v1::DEBUG);
  for (const auto& [k, v] : s.settings) (*c.mutable_isolator_settings())[k] = v;
  return c;
}

inline v1::ContainerContext contextOf(const Spec& s, const Spec* parent = nullptr) {
  v1::ContainerContext ctx;
  *ctx.mutable_id() = parseId(s.id).value();
  *ctx.mutable_config() = configOf(s);
  ctx.set_depth(ctx.id().path_size());
  if (parent != nullptr) {
    *ctx.mutable_parent()->mutable_id() = parseId(parent->id).value();
    *ctx.mutable_parent()->mutable_config() = configOf(*parent);
  }
  return ctx;
}

inline Result<void> prepare(plugins::Plugin* p, const Spec& s, const Spec* parent = nullptr) {
  v1::PrepareRequest req;
  *req.mutable_container() = contextOf(s, parent);
  auto r = p->call<v1::PrepareResponse>(v1::PREPARE, req);
  if (!r) return fail(r.error());
  return {};
}

inline Result<void> isolate(plugins::Plugin* p, const Spec& s, pid_t pid) {
  v1::IsolateRequest req;
  *req.mutable_container() = contextOf(s);
  req.set_pid(pid);
  auto r = p->call<v1::Empty>(v1::ISOLATE, req);
  if (!r) return fail(r.error());
  return {};
}

inline v1::ContainerRequest containerReq(const Spec& s) {
  v1::ContainerRequest req;
  *req.mutable_id() = parseId(s.id).value();
  *req.mutable_state()->mutable_id() = req.id();
  *req.mutable_state()->mutable_config() = configOf(s);
  return req;
}

inline Result<void> cleanup(plugins::Plugin* p, const Spec& s) {
  auto r = p->call<v1::Empty>(v1::CLEANUP, containerReq(s));
  if (!r) return fail(r.error());
  return {};
}

inline Result<void> update(plugins::Plugin* p, const Spec& s, double cpus, uint64_t mem, uint64_t pids) {
  v1::UpdateRequest req;
  *req.mutable_container() = contextOf(s);
  req.mutable_resources()->set_cpus(cpus);
  req.mutable_resources()->set_mem_bytes(mem);
  req.mutable_resources()->set_pids(pids);
  auto r = p->call<v1::Empty>(v1::UPDATE, req);
  if (!r) return fail(r.error());
  return {};
}

inline Result<v1::WatchResponse> watch(plugins::Plugin* p, const std::string& id) {
  v1::WatchRequest req;
  *req.mutable_id() = parseId(id).value();
  return p->call<v1::WatchResponse>(v1::WATCH, req);
}

inline Result<v1::ResourceStatistics> usage(plugins::Plugin* p, const Spec& s) {
  return p->call<v1::ResourceStatistics>(v1::USAGE, containerReq(s));
}

// A forked child standing in for warren-init: blocks until release(), then
// execs argv (busybox). stdout+stderr are captured.
class Proc {
 public:
  explicit Proc(std::vector<std::string> argv) {
    int go[2], out[2];
    EXPECT_EQ(pipe2(go, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(out[1], 2);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(120);
      execv(args[0], args.data());
      _exit(127);
    }
    close(go[0]);
    close(out[1]);
    go_ = go[1];
    out_ = out[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~Proc() {
    if (go_ >= 0) close(go_);
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  static Proc sh(const std::string& script) { return Proc({"/bin/busybox", "sh", "-c", script}); }

  pid_t pid() const { return pid_; }
  void release() {
    ASSERT_EQ(write(go_, "x", 1), 1);
    close(go_);
    go_ = -1;
  }
  // Wait status, or -1 on timeout (the process keeps running).
  int wait(std::chrono::milliseconds timeout) {
    if (status_ >= 0) return status_;
    auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) return status_ = st;
      if (std::chrono::steady_clock::now() >= end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  bool alive() { return wait(std::chrono::milliseconds(0)) < 0; }
  std::string output() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) out_text_.append(buf, n);
    return out_text_;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1, out_ = -1;
  int status_ = -1;
  std::string out_text_;
};

}  // namespace warren::testing::cg
