// Hand timing check (not a test): median spawn + release + exit of `true`
// in a top-level container, and warren-init's resident memory.
//   launcher_bench [runs]
#include <poll.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "launcher_fixture.hpp"
#include "warren/sdk/fs.hpp"

using namespace warren;
using namespace warren::testing;

static std::string privateDirty(pid_t pid) {
  auto t = fs::readFile("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!t) return "?";
  size_t p = t->find("Private_Dirty:");
  return p == std::string::npos ? "?" : t->substr(p + 14, t->find('\n', p) - p - 14);
}

static std::string vmRss(pid_t pid) {
  auto t = fs::readFile("/proc/" + std::to_string(pid) + "/status");
  if (!t) return "?";
  size_t p = t->find("VmRSS:");
  return p == std::string::npos ? "?" : t->substr(p + 6, t->find('\n', p) - p - 6);
}

static std::vector<double> phase[3];
static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

static double runOnce(TestEnv& env, bool rootfs, const std::string& rootfs_dir, int i) {
  Box b(env, "b" + std::to_string(i));
  b.topLevel(false);
  if (rootfs) b.req.launch_info.set_rootfs(rootfs_dir);
  b.req.launch_info.set_hostname("bench");
  b.req.argv = {"true"};
  // WARREN_BENCH_RUNTIME_BASE=/dev/shm: a tmpfs runtime dir, as in production.
  if (const char* base = getenv("WARREN_BENCH_RUNTIME_BASE")) {
    b.req.runtime_dir = std::string(base) + "/" + tag() + "-" + std::to_string(i);
    (void)fs::mkdirs(b.req.runtime_dir);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto l = launcher::spawn(b.req);
  if (!l) { fprintf(stderr, "spawn: %s\n", l.error().message().c_str()); exit(1); }
  b.launched = std::move(*l);
  auto t_spawn = std::chrono::steady_clock::now();
  auto r = launcher::release(b.launched);
  auto t_rel = std::chrono::steady_clock::now();
  if (!r) { fprintf(stderr, "release: %s\n", r.error().message().c_str()); exit(1); }
  auto s = waitDone(b);
  auto t1 = std::chrono::steady_clock::now();
  if (!s || s->wait_status != 0) { fprintf(stderr, "bad exit\n"); exit(1); }
  if (getenv("WARREN_BENCH_RUNTIME_BASE")) (void)fs::removeTree(b.req.runtime_dir);
  phase[0].push_back(std::chrono::duration<double, std::milli>(t_spawn - t0).count());
  phase[1].push_back(std::chrono::duration<double, std::milli>(t_rel - t_spawn).count());
  phase[2].push_back(std::chrono::duration<double, std::milli>(t1 - t_rel).count());
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

int main(int argc, char** argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 50;
  TestEnv env;
  std::string rootfs = env.makeRootfs();
  for (bool with_rootfs : {false, true}) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) ms.push_back(runOnce(env, with_rootfs, rootfs, i));
    std::sort(ms.begin(), ms.end());
    printf("%-14s runs=%d median=%.2f ms p10=%.2f p90=%.2f\n",
           with_rootfs ? "with rootfs" : "no rootfs", runs, ms[ms.size() / 2],
           ms[ms.size() / 10], ms[ms.size() * 9 / 10]);
    printf("  phases (median ms): spawn %.2f  release %.2f  exit %.2f\n", median(phase[0]),
           median(phase[1]), median(phase[2]));
    for (auto& p : phase) p.clear();
  }
  // Resident memory of a blocked and of a running warren-init.
  Box b(env, "rss");
  b.topLevel(false);
  b.req.launch_info.set_rootfs(rootfs);
  b.req.argv = {"sleep", "100"};
  auto l = launcher::spawn(b.req);
  if (!l) return 1;
  b.launched = std::move(*l);
  printf("warren-init VmRSS blocked: %s\n", vmRss(b.launched.pid).c_str());
  (void)launcher::release(b.launched);
  printf("warren-init VmRSS running: %s\n", vmRss(b.launched.pid).c_str());
  printf("warren-init Private_Dirty running (per-container cost): %s\n",
         privateDirty(b.launched.pid).c_str());
  launcher::abort(b.launched);
  return 0;
}
