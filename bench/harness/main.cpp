// warren-bench: launch latency, nesting, memory and recovery of warren beside
// crun, runc and the unshare/fork floors, interleaved round by round.
//   warren-bench --warren BIN --plugin_dir DIR --init PATH [--rounds N]
//                [--mem N] [--recover N] [--chain-rounds N] [--out DIR] [--only a,b]
//                [--warrend BIN --agent BIN]   (also the daemon path: warren-agent -> warrend)
//                [--embedded BIN]              (warren_inprocess_bench --serve: libwarren in one process)
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "bundle.hpp"
#include "cases.hpp"

using namespace bench;

namespace {

std::string cpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string firstLine(const std::vector<std::string>& argv) {
  SpawnOpts o;
  o.capture_out = true;
  Run r = spawn(argv, o);
  std::string s = r.out.empty() ? r.err : r.out;
  return r.status == 127 || r.status < 0 ? "" : s.substr(0, s.find('\n'));
}

bool exists(const std::string& p) { return access(p.c_str(), X_OK) == 0; }

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt{{"rounds", "30"}, {"mem", "10"}, {"recover", "100"},
                                         {"chain-rounds", "3"}, {"out", "bench/results"},
                                         {"only", "top,nested,groups,chain,memory,recovery"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "warren-bench: bad argument '%s' (expected --name value)\n", a.c_str());
      return 2;
    }
    opt[a.substr(2)] = argv[++i];
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "warren-bench: needs root (namespaces, cgroups)\n");
    return 2;
  }
  Ctx c;
  c.rounds = std::atoi(opt["rounds"].c_str());
  c.mem_containers = std::atoi(opt["mem"].c_str());
  c.recover_containers = std::atoi(opt["recover"].c_str());
  c.chain_rounds = std::atoi(opt["chain-rounds"].c_str());
  c.scratch = "/tmp/warren-bench-" + std::to_string(getpid());
  c.rootfs = c.scratch + "/rootfs";
  std::string e = makeRootfs(c.scratch) == "" ? makeRootfs(c.rootfs) : "cannot create " + c.scratch;
  if (!e.empty()) {
    std::fprintf(stderr, "warren-bench: %s\n", e.c_str());
    return 1;
  }
  c.warren.bin = opt["warren"];
  c.warren.plugin_dir = opt["plugin_dir"];
  c.warren.init_path = opt["init"];
  c.warren.isolation = opt["isolation"];
  c.warren.work_dir = c.scratch + "/warren-work";
  // The runtime dir is meant to live on a tmpfs (/run): its checkpoints are
  // fsynced on every state change, which costs 1-25 ms each on this disk.
  c.warren.runtime_dir = "/dev/shm/warren-bench-" + std::to_string(getpid());
  c.have_warren = !c.warren.bin.empty() && exists(c.warren.bin);
  c.have_crun = exists("/usr/bin/crun");
  c.have_runc = exists("/usr/sbin/runc");
  c.have_conmon = exists("/usr/bin/conmon");
  c.crun.root = c.scratch + "/crun-state";
  c.runc.root = c.scratch + "/runc-state";
  if (c.have_crun) {
    std::string why;
    c.crun.mntns = makeCrunMountNs(why);
    if (c.crun.mntns < 0) {
      std::fprintf(stderr, "warren-bench: crun skipped: %s\n", why.c_str());
      c.have_crun = false;
    }
  }

  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  utsname u{};
  uname(&u);
  c.report.header("## warren benchmark, " + std::string(date));
  c.report.header("");
  c.report.header("- machine: " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, " + cpuModel() +
                  ", kernel " + u.release);
  c.report.header("- peers: " + firstLine({"/usr/bin/crun", "--version"}) + "; " +
                  firstLine({"/usr/sbin/runc", "--version"}) + "; " + firstLine({"/usr/bin/conmon", "--version"}));
  c.report.header("- warren: " + (c.have_warren ? c.warren.bin : std::string("not built - warren rows absent")));
  c.report.header("- method: each case runs its runtimes round by round (start rotated each round), timed fork->reap "
                  "with CLOCK_MONOTONIC; " + opt["rounds"] + " rounds; ratios are medians over crun's median.");

  // warrend over its own dirs, for the daemon-path rows.
  pid_t warrend = -1;
  std::string wd_run = "/dev/shm/warrend-bench-" + std::to_string(getpid());
  if (exists(opt["warrend"]) && exists(opt["agent"])) {
    c.agent_bin = opt["agent"];
    c.warrend_bin = opt["warrend"];
    c.warrend_socket = wd_run + "/warrend.sock";
    std::vector<std::string> args = {opt["warrend"], "--work_dir=" + c.scratch + "/warrend-work",
                                     "--runtime_dir=" + wd_run,
                                     "--cgroups_root=" + std::string(kCgroupRoot) + "/warrend",
                                     "--plugin_dir=" + opt["plugin_dir"], "--init_path=" + opt["init"]};
    if (!opt["isolation"].empty()) args.push_back("--isolation=" + opt["isolation"]);
    warrend = fork();
    if (warrend == 0) {
      std::vector<char*> av;
      for (auto& a : args) av.push_back(a.data());
      av.push_back(nullptr);
      execv(av[0], av.data());
      _exit(127);
    }
    for (int i = 0; i < 300 && !c.have_warrend; ++i) {
      usleep(50000);
      c.have_warrend = spawn({c.agent_bin, "--socket", c.warrend_socket, "{\"type\":\"GET_CONTAINERS\"}"}).ok();
    }
    if (!c.have_warrend) std::fprintf(stderr, "warren-bench: warrend did not answer; its rows are absent\n");
  }
  c.report.header("- warrend: " + (c.have_warrend ? opt["warrend"] + " (client: one warren-agent process per launch)"
                                                  : std::string("not run (pass --warrend and --agent)")));
  if (c.have_warrend && c.have_warren) {
    // The CLI's daemon path: the same dirs as warrend, --daemon=always.
    c.warrend_cli = c.warren;
    c.warrend_cli.work_dir = c.scratch + "/warrend-work";
    c.warrend_cli.runtime_dir = wd_run;
    c.warrend_cli.cgroups_root = std::string(kCgroupRoot) + "/warrend";
    c.warrend_cli.extra = {"--daemon=always"};
    c.have_warrend_cli = true;
  }
  if (exists(opt["embedded"])) {
    c.embedded = startEmbedded(opt["embedded"], c.rootfs, opt["plugin_dir"], opt["init"]);
    if (c.embedded->pid <= 0) std::fprintf(stderr, "warren-bench: %s; its rows are absent\n", c.embedded->error.c_str());
  }
  c.report.header("- embedded: " + (c.embedded && c.embedded->pid > 0
                                        ? opt["embedded"] + " --serve (libwarren in one process, asked per launch)"
                                        : std::string("not run (pass --embedded)")));

  std::set<std::string> only;
  std::stringstream ss(opt["only"]);
  for (std::string item; std::getline(ss, item, ',');) only.insert(item);
  if (only.count("top")) caseTopLevel(c);
  if (only.count("nested")) caseNested(c);
  if (only.count("groups")) caseGroups(c);
  if (only.count("chain")) caseChain(c);
  if (only.count("memory")) caseMemory(c);
  if (only.count("recovery")) caseRecovery(c);

  if (c.embedded) c.embedded->stop();
  // Leave nothing behind: warren containers, peer containers, cgroups, dirs.
  if (c.have_warren) {
    for (const auto& k : c.warren.ps()) {
      if (k.depth <= 1) c.warren.exec({"destroy", k.id});
    }
  }
  if (warrend > 0) {
    kill(warrend, SIGTERM);
    waitpid(warrend, nullptr, 0);
    std::system(("rm -rf '" + wd_run + "'").c_str());
  }
  auto left = removeBenchCgroups();
  auto mounts = mountsUnder(c.scratch);
  for (const auto& l : left) std::fprintf(stderr, "warren-bench: residue: cgroup %s\n", l.c_str());
  for (const auto& m : mounts) std::fprintf(stderr, "warren-bench: residue: mount %s\n", m.c_str());
  for (const auto& m : mountsUnder(c.warren.runtime_dir)) mounts.push_back(m);
  if (mounts.empty()) std::system(("rm -rf '" + c.scratch + "' '" + c.warren.runtime_dir + "'").c_str());

  std::system(("mkdir -p '" + opt["out"] + "'").c_str());
  std::string md = c.report.markdown();
  std::string stem = opt["out"] + "/" + date;
  std::string chart_err = c.report.chart(stem, std::string("warren vs crun/runc, ") + date + ", " +
                                                   std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores");
  if (chart_err.empty()) md += "![chart](" + std::string(date) + ".png)\n";
  else std::fprintf(stderr, "warren-bench: chart: %s\n", chart_err.c_str());
  if (!writeFile(stem + ".md", md)) std::fprintf(stderr, "warren-bench: cannot write %s.md\n", stem.c_str());
  std::cout << md;
  std::fprintf(stderr, "warren-bench: wrote %s.md %s\n", stem.c_str(), chart_err.empty() ? (stem + ".png").c_str() : "");
  return left.empty() && mounts.empty() ? 0 : 1;
}
