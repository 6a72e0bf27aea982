// The benchmark cases. Each runs every runtime round by round (interleaved,
// the start rotated per round) and records into the report.
#pragma once

#include <string>

#include "report.hpp"
#include "runtimes.hpp"

namespace bench {

struct Ctx {
  std::string scratch;  // /tmp/warren-bench-<pid>
  std::string rootfs;   // scratch/rootfs (warren and the floors)
  Warren warren;
  bool have_warren = false;
  Crun crun;
  Runc runc;
  bool have_crun = false, have_runc = false, have_conmon = false;
  // warrend, started by the harness when --warrend and --agent are given;
  // each step is one warren-agent process (launch, wait, remove).
  std::string agent_bin, warrend_socket, warrend_bin;
  bool have_warrend = false;
  // The warren CLI over warrend's dirs with --daemon=always (the CLI's
  // daemon path: `warren run` and `warren exec` through warrend).
  Warren warrend_cli;
  bool have_warrend_cli = false;
  // libwarren in one process, plugins loaded once (an embedding agent):
  // warren_inprocess_bench --serve, one launch+wait+destroy per request line.
  struct Embedded* embedded = nullptr;
  int rounds = 30;
  int chain_rounds = 3;
  int mem_containers = 10;
  int recover_containers = 100;
  Report report;
};

// The embedded server (--embedded BIN): started once, asked per step.
struct Embedded {
  int pid = -1, to = -1, from = -1;
  std::string error;  // why it is not there
  // "top", "nested", "exec": one launch+wait+destroy, timed from the
  // request to the answer.
  Run call(const std::string& what);
  void stop();
};
Embedded* startEmbedded(const std::string& bin, const std::string& rootfs, const std::string& plugin_dir,
                        const std::string& init);

void caseTopLevel(Ctx& c);
void caseNested(Ctx& c);
void caseGroups(Ctx& c);
void caseChain(Ctx& c);
void caseMemory(Ctx& c);
void caseRecovery(Ctx& c);

// Bundle dir scratch/<name> with rootfs copy + config.json; "" or error.
std::string makeBundle(Ctx& c, const std::string& name, const struct BundleSpec& spec);

}  // namespace bench
