// Per-call cost of a plugin in process vs out of process (warren-plugin-host
// over a socketpair): N `usage` calls (a call whose work is nearly nil) to one
// isolator, median and p99 per call, plus the one-time cost of creating the
// instance (for out of process: spawn + dlopen + create). Usage:
//   warren_plugin_call_bench PLUGIN_DIR SHORT_NAME [CALLS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "host/plugin_host.hpp"

namespace {

using namespace warren;
using Clock = std::chrono::steady_clock;

double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

int run(const std::string& dir, const std::string& name, int calls, plugins::Isolation iso) {
  plugins::HostOptions o;
  o.plugin_dirs = {dir};
  o.isolation = {{"*", iso}};
  auto host = plugins::PluginHost::create(o, nullptr);
  host->scan();
  auto t0 = Clock::now();
  auto p = host->instance(plugins::Kind::Isolator, name);
  auto created = Clock::now() - t0;
  if (!p) {
    std::fprintf(stderr, "%s\n", p.error().message().c_str());
    return 1;
  }
  v1::ContainerRequest req;
  req.mutable_id()->add_path("bench");
  std::vector<double> v;
  v.reserve(static_cast<size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    auto s = Clock::now();
    auto r = (*p)->call<v1::ResourceStatistics>(v1::USAGE, req);
    v.push_back(us(Clock::now() - s));
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message().c_str());
      return 1;
    }
  }
  std::sort(v.begin(), v.end());
  std::printf("| %s | %s | %d | %.1f us | %.1f us | %.2f ms |\n", name.c_str(),
              iso == plugins::Isolation::Process ? "process" : "inprocess", calls, v[v.size() / 2],
              v[v.size() * 99 / 100], us(created) / 1000.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PLUGIN_DIR SHORT_NAME [CALLS]\n", argv[0]);
    return 2;
  }
  int calls = argc > 3 ? std::atoi(argv[3]) : 2000;
  std::printf("| plugin | isolation | calls | median per call | p99 | create |\n|---|---|---|---|---|---|\n");
  int rc = run(argv[1], argv[2], calls, plugins::Isolation::InProcess);
  return rc != 0 ? rc : run(argv[1], argv[2], calls, plugins::Isolation::Process);
}
