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
  std::string agent_bin, warrend_socket;
  bool have_warrend = false;
  int rounds = 30;
  int chain_rounds = 3;
  int mem_containers = 10;
  int recover_containers = 100;
  Report report;
};

void caseTopLevel(Ctx& c);
void caseNested(Ctx& c);
void caseGroups(Ctx& c);
void caseChain(Ctx& c);
void caseMemory(Ctx& c);
void caseRecovery(Ctx& c);

// Bundle dir scratch/<name> with rootfs copy + config.json; "" or error.
std::string makeBundle(Ctx& c, const std::string& name, const struct BundleSpec& spec);

}  // namespace bench
