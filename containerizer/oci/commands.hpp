// The commands of warren-oci, each driving the same Containerizer as the
// `warren` CLI (libwarren), with state under --root:
//   <root>/run   runtime dir (checkpoints, warren-init's exit status, start fifo)
//   <root>/work  work dir (sandboxes)
#pragma once

#include <memory>

#include "args.hpp"
#include "warren/containerizer.hpp"

namespace warren::oci {

struct Context {
  Global global;
  Command cmd;
  std::shared_ptr<spdlog::logger> log;
};

// Runs one command; returns the process exit status (0 ok, 1 failure as runc).
int run(Context& ctx);

}  // namespace warren::oci
