// warren-oci: the OCI runtime command line (runc's) in front of warren's
// Containerizer, so that containerd's runc shim (BinaryName), Podman
// (--runtime) and through them a Kubernetes node drive warren. See
// docs/architecture.md ("warren-oci") for what maps to what.
#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "log.hpp"
#include "warren/sdk/abi.h"

int main(int argc, char** argv) {
  using namespace warren::oci;
  Context ctx;
  auto parsed = parseArgs(argc, argv, ctx.global, ctx.cmd);
  if (!parsed) {
    logError(nullptr, parsed.error().message());
    return 1;
  }
  if (ctx.global.version) {
    std::printf("warren-oci version %s\nspec: 1.1.0\nwarren plugin ABI: %d.%d\n", WARREN_VERSION, WARREN_ABI_MAJOR,
                WARREN_ABI_MINOR);
    return 0;
  }
  if (ctx.global.help || ctx.cmd.name.empty()) {
    std::fputs(usage().c_str(), ctx.global.help ? stdout : stderr);
    return ctx.global.help ? 0 : 1;
  }
  auto log = openLog(ctx.global.log, ctx.global.log_format, ctx.global.debug);
  if (!log) {
    logError(nullptr, log.error().message());
    return 1;
  }
  ctx.log = *log;
  return run(ctx);
}
