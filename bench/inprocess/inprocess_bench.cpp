// The warm path: launch+exit of `true` through libwarren in one process, as an
// embedding agent (or a daemon) does it - plugins loaded once. Prints medians
// of top-level and nested launches, to set beside the CLI figures of
// bench/run.sh. Usage (root):
//   warren_inprocess_bench ROOTFS PLUGIN_DIR INIT_PATH [ROUNDS] [ISOLATION]
//   warren_inprocess_bench --serve ROOTFS PLUGIN_DIR INIT_PATH   (for bench/harness)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace {

double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void report(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("| %s | %zu | %.2f ms | %.2f | %.2f |\n", what, v.size(), v[v.size() / 2], v.front(), v.back());
}

}  // namespace

// --serve ROOTFS PLUGIN_DIR INIT_PATH: for bench/harness, so that the warm
// path is measured in the same interleaved rounds as crun. One Containerizer
// (default isolators, a running parent), then per stdin line "top",
// "nested" or "exec" (a DEBUG container in the parent) one launch, wait and
// destroy of /bin/true, answered "ok" or "err <message>"; "quit" ends it.
int serve(const std::string& rootfs, const std::string& plugin_dir, const std::string& init) {
  std::string base = "/dev/shm/warren-inproc-" + std::to_string(getpid());
  warren::Options o;
  o.work_dir = base + "/work";
  o.runtime_dir = base + "/run";
  o.cgroups_root = "/warren-bench/inproc";
  o.plugin_dirs = {plugin_dir};
  o.init_path = init;
  o.isolation = {"filesystem/linux", "pid", "network", "volumes", "cgroups", "seccomp"};
  auto made = warren::Containerizer::create(o);
  if (!made) {
    std::printf("%s\n", made.error().message().c_str());
    return 1;
  }
  auto& c = **made;
  warren::v1::ContainerConfig top;
  top.set_rootfs(rootfs);
  top.mutable_command()->set_value("/bin/true");
  warren::v1::ContainerConfig parent = top;
  parent.mutable_command()->set_value("/bin/sleep");
  parent.mutable_command()->add_arguments("100000");
  warren::v1::ContainerConfig nested;
  nested.mutable_command()->set_value("/bin/true");
  warren::v1::ContainerConfig debug = nested;
  debug.set_container_class(warren::v1::DEBUG);
  auto pid = *warren::parseId("parent");
  if (auto l = c.launch(pid, parent); !l) {
    std::printf("launch of the parent: %s\n", l.error().message().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  char line[64];
  int n = 0;
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    std::string what(line);
    while (!what.empty() && what.back() == '\n') what.pop_back();
    if (what == "quit") break;
    ++n;
    warren::Result<warren::v1::ContainerStatus> l = warren::fail(warren::Code::InvalidArgument, "unknown request '" + what + "'");
    warren::v1::ContainerID id;
    if (what == "top") {
      id = *warren::parseId("t" + std::to_string(n));
      l = c.launch(id, top);
    } else if (what == "nested" || what == "exec") {
      id = *warren::parseId("parent." + what + std::to_string(n));
      l = c.launch(id, what == "exec" ? debug : nested);
    }
    std::string err;
    if (!l) {
      err = l.error().message();
    } else {
      auto t = c.wait(id);
      auto d = c.destroy(id);
      if (!t) err = t.error().message();
      else if (!d) err = d.error().message();
      else if (t->exit_code() != 0 || t->reason() != warren::v1::Termination::COMMAND_EXITED) err = t->message();
    }
    for (auto& ch : err) ch = ch == '\n' ? ' ' : ch;
    std::printf("%s\n", err.empty() ? "ok" : ("err " + err).c_str());
    std::fflush(stdout);
  }
  (void)c.destroy(pid);
  (void)warren::fs::removeTree(base);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "--serve") return serve(argv[2], argv[3], argv[4]);
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ROOTFS PLUGIN_DIR INIT_PATH [ROUNDS] [ISOLATION]\n", argv[0]);
    return 2;
  }
  int rounds = argc > 4 ? std::atoi(argv[4]) : 30;
  std::string base = "/dev/shm/warren-inproc-" + std::to_string(getpid());
  warren::Options o;
  o.work_dir = base + "/work";
  o.runtime_dir = base + "/run";
  o.cgroups_root = "/warren-bench/inproc";
  o.plugin_dirs = {argv[2]};
  o.init_path = argv[3];
  if (argc > 5) {
    o.isolation.clear();
    std::stringstream ss(argv[5]);
    for (std::string s; std::getline(ss, s, ',');) o.isolation.push_back(s);
  } else {
    o.isolation = {"filesystem/linux", "pid", "network", "volumes", "cgroups"};
  }
  auto made = warren::Containerizer::create(o);
  if (!made) {
    std::fprintf(stderr, "%s\n", made.error().message().c_str());
    return 1;
  }
  auto& c = **made;
  warren::v1::ContainerConfig top;
  top.set_rootfs(argv[1]);
  top.mutable_command()->set_value("/bin/true");
  warren::v1::ContainerConfig parent = top;
  parent.mutable_command()->set_value("/bin/sleep");
  parent.mutable_command()->add_arguments("600");
  warren::v1::ContainerConfig nested;
  nested.mutable_command()->set_value("/bin/true");
  auto pid = *warren::parseId("parent");
  if (!c.launch(pid, parent)) return 1;
  std::vector<double> t_top, t_nested;
  for (int i = 0; i < rounds + 2; ++i) {  // two warm-up rounds
    for (int kind = 0; kind < 2; ++kind) {
      auto id = kind == 0 ? *warren::parseId("t" + std::to_string(i))
                          : *warren::parseId("parent.n" + std::to_string(i));
      auto start = std::chrono::steady_clock::now();
      auto l = c.launch(id, kind == 0 ? top : nested);
      if (!l) {
        std::fprintf(stderr, "%s\n", l.error().message().c_str());
        return 1;
      }
      auto t = c.wait(id);
      auto d = c.destroy(id);
      auto took = ms(std::chrono::steady_clock::now() - start);
      if (!t || !d) return 1;
      if (i >= 2) (kind == 0 ? t_top : t_nested).push_back(took);
    }
  }
  (void)c.destroy(pid);
  (void)warren::fs::removeTree(base);
  std::printf("| libwarren in-process (launch+wait+destroy of true) | n | median | min | max |\n|---|---|---|---|---|\n");
  report("top-level", t_top);
  report("nested", t_nested);
  return 0;
}
